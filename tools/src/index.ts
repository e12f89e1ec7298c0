export { passGenerator, addRegistration, type PassGeneratorSchema } from './generators/pass/generator';
