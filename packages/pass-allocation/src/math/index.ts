export * from './allocate';
export * from './allocate-by-error';
export * from './allocate-bins';
