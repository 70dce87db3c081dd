/** Models: backbones, heads, the classifier and dual-branch models, export/import and batched encoding. Explicit exports: this file is the area's public surface (see docs/architecture.md, Naming). */
export { cnnBackbone, functionBackbone, identityBackbone, layersModelBackbone, mlpBackbone } from './backbones.js';
export type {
  BatchNormSettings,
  CnnBackboneOptions,
  CnnFeatures,
  CnnPooling,
  FunctionBackboneOptions,
  IdentityBackboneOptions,
  LayersModelBackboneOptions,
  MlpBackboneOptions,
} from './backbones.js';
export { classifier } from './classifier.js';
export type { Classifier, ClassifierOptions, ClassifierOutput } from './classifier.js';
export { dualBranch } from './dual-branch.js';
export type { DualBranch, DualBranchOptions, DualBranchOutput } from './dual-branch.js';
export { classPrototypes, encode, mapBatches } from './encode.js';
export type { ClassPrototypes, ClassPrototypesOptions, EncodeOptions, MapBatchesOptions } from './encode.js';
export {
  backboneFromConfig,
  exportModel,
  headFromConfig,
  importModel,
  loadModel,
  modelFromConfig,
  saveModel,
  toLayersModel,
} from './export.js';
export type { ModelArtifact, ModelSpec } from './export.js';
export { initFromClassMeans, initFromLinearProbe } from './head-init.js';
export type { ClassMeansInitOptions, InitializableHead, LinearProbe, LinearProbeInitOptions } from './head-init.js';
export { auxiliaryHead, cosineHead, linearHead } from './heads.js';
export type {
  AuxiliaryHead,
  AuxiliaryHeadOptions,
  CosineHead,
  CosineHeadOptions,
  LinearHead,
  LinearHeadOptions,
} from './heads.js';
export { INITIALIZERS } from './init.js';
export type { Initializer } from './init.js';
export { onnxEncoder } from './onnx-encoder.js';
export type { OnnxEncoder, OnnxEncoderOptions, OnnxPooling } from './onnx-encoder.js';
export type { Backbone, ForwardFields, ForwardMode, ForwardOutput, Head, Model, Requirement } from './types.js';
export { frozenBackbone } from './frozen.js';
export type { FrozenBackbone, FrozenBackboneOptions } from './frozen.js';
export { lwsHead, tauNormalize, tauNormalizedHead, tauNormalizedLogits } from './rebalanced-heads.js';
export type { LwsHead, LwsHeadOptions, TauNormBias, TauNormalizeOptions, TauNormalizedHead, TauNormalizedHeadOptions, TauNormalizedLogitsOptions } from './rebalanced-heads.js';
