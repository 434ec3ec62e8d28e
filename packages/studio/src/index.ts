export { type Studio, type StudioOptions, startStudio } from './studio.js';
