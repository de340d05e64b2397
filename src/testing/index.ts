// `eddy/testing`: run a pipeline synchronously, in memory, with simulated time.
export { type OutputRecord, type PipeOptions, TestDriver, type TestDriverOptions } from './test-driver.js'
