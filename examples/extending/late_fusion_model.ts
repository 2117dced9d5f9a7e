/**
 * A model: an MLP per modality and a concat head, registered as the recipe 'late-fusion' for
 * 'vectors' data. It says which parameters form each modality's encoder and branch.
 */
import {
  type Batch,
  type DataInfo,
  type ModelOutputs,
  type MultimodalModel,
  type ParamRef,
  type Tensor,
  ConcatHead,
  nn,
  recipes,
} from '../../src/index.js';

export class LateFusionModel extends nn.Module implements MultimodalModel {
  readonly encoders: nn.ModuleDict<nn.Sequential>;
  readonly head: ConcatHead;

  constructor(
    readonly modalities: string[],
    dims: Record<string, number>,
    readonly numClasses: number,
    hidden = 16,
  ) {
    super();
    const enc = Object.fromEntries(modalities.map((m) => [m, new nn.Sequential(new nn.Linear(dims[m]!, hidden), new nn.ReLU())]));
    this.encoders = this.registerModule('encoders', new nn.ModuleDict(enc));
    this.head = this.registerModule('head', new ConcatHead(modalities, Object.fromEntries(modalities.map((m) => [m, hidden])), numClasses));
  }

  forward(batch: Batch): ModelOutputs {
    const features = Object.fromEntries(this.modalities.map((m) => [m, this.encoders.get(m).forward(batch.inputs[m]!)]));
    const { fused, unimodal } = this.head.forward(features);
    return { fused, unimodal, features };
  }

  modalityParameters(role?: 'encoder'): Record<string, Tensor[]>;
  modalityParameters(role: 'branch'): Record<string, ParamRef[]>;
  modalityParameters(role: 'encoder' | 'branch' = 'encoder'): Record<string, Tensor[]> | Record<string, ParamRef[]> {
    const enc = (m: string): Tensor[] => this.encoders.get(m).parameters();
    if (role === 'branch')
      return Object.fromEntries(this.modalities.map((m) => [m, [...enc(m).map((param) => ({ param })), ...this.head.branchParameters(m)]]));
    return Object.fromEntries(this.modalities.map((m) => [m, enc(m)]));
  }

  classWeightNorms(): Record<string, number[]> {
    return this.head.classWeightNorms();
  }
}

recipes.register('late-fusion', {
  description: 'an MLP per modality and a concat head, for per-sample vectors',
  kinds: ['vectors'],
  build: (data: DataInfo, c) =>
    new LateFusionModel(
      [...data.modalities],
      Object.fromEntries(data.modalities.map((m) => [m, data.shapes[m]![0]!])),
      data.classNames.length,
      c.model.hidden,
    ),
});
