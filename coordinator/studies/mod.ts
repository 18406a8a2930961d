/**
 * Hyperparameter studies: many trials of one base job spec, each an ordinary job, searched by
 * grid, random, coarse-to-fine or successive halving (DESIGN.md, "Study spec").
 */
export { StudyManager, type StudyManagerOptions } from "./study-manager.ts";
export { studyRoutes, type StudyRoutesOptions } from "./routes.ts";
export type { StudyRecord, StudyStatus, TrialRecord, TrialResult, TrialStatus } from "./study-record.ts";
export {
  DEFAULT_CONCURRENCY,
  DEFAULT_STUDY_LIMITS,
  parseStudySpec,
  STRATEGY_TYPES,
  STUDY_METRICS,
  type StrategySpec,
  type StudyLimits,
  type StudyMetric,
  type StudySpec,
} from "./study-spec.ts";
export { advance, bestTrial, initialTrials, rungEpochs } from "./strategy.ts";
export type { AxisScale, BestView, DimensionView, StudySummary, StudyView, TrialView } from "./study-view.ts";
