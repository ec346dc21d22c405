/**
 * The autoencoder study (seed 000's Final Project, Exercise 2 and Part 7): seven
 * architectures trained on the same data, every analysis and application run on each, and
 * a self-contained HTML report with a comparison table, charts, pictures and
 * recommendations. `aelab study` (and `npm start`) runs it.
 *
 * ```ts
 * import { runStudy } from 'aelab/dist/lib/study';
 * const { htmlPath, report } = await runStudy({ profile: 'quick', out: 'reports/study', log: console.error });
 * ```
 */
export { runStudy, loadStudyData, STUDY_DATASETS, STUDY_FORMAT, NORMAL_CLASSES, ANOMALY_CLASS, type StudyOptions, type StudyResult } from './run';
export { PROFILES, PROFILE_NAMES, profile, type ProfileName, type StudyProfile } from './profiles';
export { ARCHITECTURES, STUDY_MODELS, DENOISING_NOISE, architecture, type StudyArchitecture, type StudyModelName, type TrainingRecipe } from './architectures';
export { analyzeModel, disposeStudyData, NOISE_LEVELS, IMAGE_CAPTIONS, type StudyData, type ModelMetrics, type ModelImages, type NoiseRow, type AnalyzeOptions } from './analyze';
export { trainArchitecture, epochsOf, type TrainingSummary, type StudyTrainOptions } from './training';
export { recommend, renderHtml, reportCharts, inlineSvg, escapeHtml, noiseMse, TABLE_COLUMNS, REPORT_FORMAT, type StudyReport, type StudyModelReport, type Recommendation, type RenderedReport, type ReportChart, type ReportChartsOptions } from './report';
