export { readTfjsModel } from './read';
