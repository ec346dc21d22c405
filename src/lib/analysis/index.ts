/**
 * Analysis toolkit: every analysis of the seeds as a function returning plain numbers
 * (tables as rows plus a danfojs DataFrame through `frame()`), each with a picture: a
 * vega-lite `ChartSpec` (render with `viz.renderSvg`) or a PNG / image tensor.
 *
 * | seed | analysis | numbers | picture |
 * |---|---|---|---|
 * | 000 Part 4 | latent space | `encodeDataset`, `latentProjection` | `latentScatterChart` |
 * | 000 Part 4 | latent geometry | `analyzeLatentGeometry`, `latentGeometry`, `intrinsicDimension` | `geometryChart`, `explainedVarianceChart` |
 * | 000 Part 4, 001 Ex. 2-3 | arithmetic, interpolation, samples | `classMeans`, `latentArithmetic`, `interpolate`, `interpolateCodes`, `interpolationSmoothness`, `randomSamples` | images + `smoothnessChart` |
 * | 000 Ex. 5 | latent completeness (2-D) | `latentGrid`, `latentOccupancy` | grid images, `occupancyChart` |
 * | 000 Part 5 | failure modes | `failureModes` | `failureStrip`, `perClassErrorChart`, `errorHistogramChart` |
 * | 000 Part 2, 001 | reconstructions, noise levels | `reconstructionGrid`, `compareNoiseLevels` | strips, `noiseLevelChart`, `noiseLevelImages` |
 * | 001 | feature maps, layer activations | `featureMapImages`, `layerActivations` | PNGs, `layerActivationChart` |
 * | 000 Part 7 | model comparison | `ModelComparator` | `chart`, `efficiencyChart` |
 * | 000 Ex. 6 | sparse codes | `sparseCodeSweep` | `sparseCodeChart`, `sparseCodeStrip` |
 * | 002 | learning curves, when done | `learningCurveTable`, `isConverged`, `convergenceReport` | `learningCurveChart`, `compareCurvesChart` |
 * | 001 Ex. 1, 5; 002 | sweeps | `sweep` and the `*Configs` lists | `sweepChart`, `sweepCurvesChart` |
 */
// Plumbing shared by the modules (withFrame, toImageBatch, imagesPng, psnrOf, the distance
// helpers behind latentGeometry, the model type guards) stays internal: every export below is
// an analysis a notebook uses.
export type { DataFrame, Row, Table } from './table';
export { type PointSet, type Points, toPointSet, colorize, meanStd } from './common';
export * from './encode';
export { pairwiseDistances, pearson, smallestIndices } from './distances';
export * from './pca';
export * from './projection';
export * from './geometry';
export * from './interpolation';
export * from './failure';
export {
  type ReconstructionGrid, reconstructionGrid, type NoiseLevelRow, type NoiseComparisonOptions, compareNoiseLevels, noiseLevelChart,
  type NoiseLevelImages, noiseLevelImages, type FeatureMapStats, type FeatureMaps, featureMapImages,
  type LayerActivationRow, type LayerActivations, layerActivations, layerActivationChart,
} from './reconstruction';
export * from './comparator';
export * from './sparse';
export * from './curves';
export * from './sweep';
export { tsne, TSNE_EXACT_MAX_POINTS, type TsneOptions, type TsneResult } from './tsne';
export { trustworthiness, type PointsInput, type PointMatrix } from './trustworthiness';
