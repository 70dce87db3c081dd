export type * from './types.js';
export { INITIALIZERS, type Initializer } from './init.js';
export {
  linearHead,
  cosineHead,
  auxiliaryHead,
  type LinearHead,
  type LinearHeadOptions,
  type CosineHead,
  type CosineHeadOptions,
  type AuxiliaryHead,
  type AuxiliaryHeadOptions,
} from './heads.js';
export {
  identityBackbone,
  mlpBackbone,
  cnnBackbone,
  layersModelBackbone,
  functionBackbone,
  type BatchNormSettings,
  type IdentityBackboneOptions,
  type MlpBackboneOptions,
  type CnnBackboneOptions,
  type CnnPooling,
  type CnnFeatures,
  type LayersModelBackboneOptions,
  type FunctionBackboneOptions,
} from './backbones.js';
export { classifier, type Classifier, type ClassifierOptions, type ClassifierOutput } from './classifier.js';
export { dualBranch, type DualBranch, type DualBranchOptions, type DualBranchOutput } from './dual-branch.js';
export {
  backboneFromConfig,
  headFromConfig,
  modelFromConfig,
  exportModel,
  importModel,
  saveModel,
  loadModel,
  toLayersModel,
  type ModelSpec,
  type ModelArtifact,
} from './export.js';
export { onnxEncoder, type OnnxEncoder, type OnnxEncoderOptions, type OnnxPooling } from './onnx-encoder.js';
export {
  initFromClassMeans,
  initFromLinearProbe,
  type InitializableHead,
  type ClassMeansInitOptions,
  type LinearProbeInitOptions,
  type LinearProbe,
} from './head-init.js';
export {
  encode,
  mapBatches,
  classPrototypes,
  type EncodeOptions,
  type MapBatchesOptions,
  type ClassPrototypes,
  type ClassPrototypesOptions,
} from './encode.js';
