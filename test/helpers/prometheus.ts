export * from '../../src/devtools/local-prometheus.js';
