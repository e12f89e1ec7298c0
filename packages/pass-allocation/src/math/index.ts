export * from './allocate';
export * from './allocate-by-error';
