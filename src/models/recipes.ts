import { ArgumentError, checkOneOf } from '../engine/errors.js';
import { manualSeed } from '../engine/runtime.js';
import { type ConversationModelConfig, ConversationModel, DEFAULT_MODEL_CONFIG } from './conversation_model.js';
import type { DataInfo, MultimodalModel } from './model.js';
import { Registry } from './registry.js';
import { ClipModel } from './clip_model.js';
import { BalanceMLAModel, DEFAULT_BALANCEMLA_MODEL_CONFIG } from './balancemla.js';

/** Ada2I's switches between the paper and the authors' code (methods.md, "Ada2I"). */
export interface Ada2IOptions {
  /** Reproduce the authors' code exactly: no padding masks in the encoders, AFW in its code form. */
  parity: boolean;
  /** 'code': NLL of the AMW output + the AFW loss; 'paper': eq. 14 with an MLP classifier on AMW (L_modal). */
  loss: 'code' | 'paper';
}

export const DEFAULT_ADA2I_OPTIONS: Ada2IOptions = { parity: false, loss: 'code' };

/** The parts of a run's configuration a recipe reads. */
export interface RecipeConfig {
  model: ConversationModelConfig;
  ada2i: Ada2IOptions;
  /** Weights start from this seed, so a run repeats exactly. */
  seed: number;
}

export interface ModelRecipe {
  readonly description: string;
  /** Data kinds the recipe builds models for. */
  readonly kinds: readonly string[];
  build(data: DataInfo, config: RecipeConfig): MultimodalModel;
}

/** Model recipes by name (config's `recipe`); 'auto' picks the data kind's default. */
export const recipes = new Registry<ModelRecipe>('model recipe');

/** The recipe 'auto' stands for, per data kind. */
export const DEFAULT_RECIPE_FOR_KIND: Record<string, string> = { conversation: 'conversation', clip: 'clip' };

function vectorDims(data: DataInfo): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const m of data.modalities) {
    const s = data.shapes[m];
    if (s === undefined || s.length !== 1)
      throw new ArgumentError(`modality '${m}' needs per-utterance vectors, but its samples have shape [${s?.join(', ')}]`);
    dims[m] = s[0]!;
  }
  return dims;
}

function conversationModel(data: DataInfo, c: RecipeConfig, extra: Partial<ConversationModelConfig> = {}): ConversationModel {
  manualSeed(c.seed);
  return new ConversationModel([...data.modalities], vectorDims(data), data.classNames.length, {
    ...DEFAULT_MODEL_CONFIG,
    ...c.model,
    ...extra,
  });
}

recipes.register('conversation', {
  description: 'per-modality encoders over each dialogue (Transformer or MLP), optional AFW, a fusion head',
  kinds: ['conversation'],
  build(data, c) {
    const changed = (Object.keys(DEFAULT_ADA2I_OPTIONS) as (keyof Ada2IOptions)[]).filter((k) => c.ada2i[k] !== DEFAULT_ADA2I_OPTIONS[k]);
    if (changed.length > 0)
      throw new ArgumentError(
        `ada2i.${changed[0]} applies to the ada2i recipe, not 'conversation'; use --preset ada2i-iemocap or --set recipe=ada2i`,
      );
    return conversationModel(data, c);
  },
});

recipes.register('ada2i', {
  description: 'Ada2I (Nguyen et al., ACM MM 2024): Transformer encoders, AFW, the AMW head; ada2i.parity and ada2i.loss',
  kinds: ['conversation'],
  build(data, c) {
    const loss = checkOneOf('ada2i.loss', c.ada2i.loss, ['code', 'paper']);
    if (loss === 'paper' && c.model.head !== 'amw') throw new ArgumentError('ada2i.loss=paper needs the AMW head (model.head=amw)');
    return conversationModel(data, c, {
      parity: c.ada2i.parity,
      amwMlpHidden: loss === 'paper' ? c.model.headHidden : c.model.amwMlpHidden,
    });
  },
});

recipes.register('clip', {
  description: 'late fusion of per-modality clip encoders (LeNet, ResNet-18, Transformer, MLP by sample shape) through a fusion head',
  kinds: ['clip'],
  build(data, c) {
    manualSeed(c.seed);
    return new ClipModel([...data.modalities], data.shapes, data.classNames.length, { ...DEFAULT_MODEL_CONFIG, ...c.model });
  },
});

recipes.register('balancemla', {
  description:
    'BalanceMLA (seed 003): Transformer encoders over [T, d] sequences, AttentionBRFF, adaptive category-level decision fusion; model.brff, model.decisionFusion',
  kinds: ['clip'],
  build(data, c) {
    manualSeed(c.seed);
    // The model keys of BalanceMLA (model.brff...) travel in c.model beside the shared ones.
    return new BalanceMLAModel([...data.modalities], data.shapes, data.classNames.length, {
      ...DEFAULT_BALANCEMLA_MODEL_CONFIG,
      ...c.model,
    });
  },
});

/** Builds the named recipe's model for this data ('auto': the data kind's default recipe). */
export function buildModel(name: string, data: DataInfo, config: RecipeConfig): MultimodalModel {
  const resolved = name === 'auto' ? DEFAULT_RECIPE_FOR_KIND[data.kind] : name;
  if (resolved === undefined)
    throw new ArgumentError(`no default model recipe for ${data.kind} data; name one (known: ${recipes.names().join(', ')})`);
  const recipe = recipes.get(resolved);
  if (!recipe.kinds.includes(data.kind))
    throw new ArgumentError(`the model recipe '${resolved}' builds models for ${recipe.kinds.join(', ')} data, not ${data.kind} data`);
  return recipe.build(data, config);
}
