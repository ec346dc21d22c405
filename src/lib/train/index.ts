/** Training: one loop for every procedure, and the losses it uses. */
export * from './losses';
export * from './fit';
export * from './progress';
