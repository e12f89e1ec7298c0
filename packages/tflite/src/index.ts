export { readTfliteFile } from './read';
