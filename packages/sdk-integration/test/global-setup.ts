import { BACKEND_DESCRIPTORS } from '@sessions/cli';
import { serviceGlobalSetup } from '@sessions/test-services/vitest';

// One server of every kind some backend's descriptor asks for.
const services = new Set(BACKEND_DESCRIPTORS.map((backend) => backend.testServer.service));
services.delete('none');
export default serviceGlobalSetup(...services);
