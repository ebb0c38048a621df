// Everything the checks offer, in one module: the cdk8s validation plugin (validation/plugin) loads this file with tsx.
export * from './manifests';
export * from './rules';
export * from './schema';
