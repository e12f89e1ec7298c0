export * from './correction';
export * from './fold';
