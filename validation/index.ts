// Everything the checks offer, in one module: the cdk8s validation plugin loads a bundle of this file.
export * from './manifests';
export * from './rules';
export * from './schema';
