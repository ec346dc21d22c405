/** Datasets: MNIST and Fashion-MNIST from IDX files, CSV tables, splits and batches. */
export * from './dataset';
export * from './batches';
export * from './idx';
export * from './mnist';
export * from './csv';
