export * from '../../src/devtools/openmetrics.js';
