/** Pictures: image grids as PNG. */
export * from './image';
