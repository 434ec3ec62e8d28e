import { serviceGlobalSetup } from '@sessions/test-services/vitest';
import { backendDescriptors } from '../src/harness.ts';

// One server of every kind some backend's descriptor asks for (a SQLite file needs none).
const services = new Set(backendDescriptors().map((descriptor) => descriptor.testServer.service));
services.delete('none');
export default serviceGlobalSetup(...services);
