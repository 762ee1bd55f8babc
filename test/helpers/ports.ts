export * from '../../src/devtools/ports.js';
