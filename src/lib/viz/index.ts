/**
 * Pictures: image grids and labelled image strips as PNG, vega-lite charts rendered to
 * SVG, `show` (inline in a tslab notebook, a file from a script) and the interactive
 * latent explorer.
 */
export * from './image';
export * from './charts';
export * from './strip';
export { drawText, measureText, hasGlyph, GLYPH_WIDTH, GLYPH_HEIGHT } from './font';
export * from './show';
export * from './explorer';
