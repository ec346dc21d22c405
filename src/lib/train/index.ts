/** Training: one loop for every procedure, its optimizers, schedules, clipping, losses and progress displays. */
export * from './losses';
export * from './fit';
export * from './optimizers';
export * from './clip';
export * from './schedule';
export * from './progress';
export * from './classifier';
export * from './pretrain';
export * from './gan';
export * from './checkpoint';
