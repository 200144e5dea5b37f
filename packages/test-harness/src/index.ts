export { LineClient, ExpectationError } from './line-client.js';
export { ServerProcess, ServerStartError, defaultServerBin, parseReady, SERVER_READY_TIMEOUT_MS } from './server-process.js';
export { LossyRelay } from '@parley/test-support';
export { seededRandom, seededBytes } from '@parley/test-support';
export { loadScenarioFile, parseScenario, resolveScenarioPaths, listScenarioFiles, SCENARIO_DIR } from './scenario/load.js';
export { validateScenario, ScenarioError, DEFAULT_EXPECT_TIMEOUT_MS } from './scenario/validate.js';
export { runScenario, stepTitle, type ScenarioResult, type StepResult, type RunOptions } from './scenario/runner.js';
export { globToRegExp, matcher } from './scenario/match.js';
export type * from './scenario/types.js';
