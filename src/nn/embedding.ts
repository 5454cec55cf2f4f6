// Embedding table: row i of the (num, dim) weight is the vector of token (or position) i.
import { type Tensor, embedding } from "../tensor/index.js";
import { type InitOptions, normalInit } from "./init.js";
import { positiveInt } from "../util/validate.js";
import { Module, Parameter, buildingEmptyWeights } from "./module.js";

export class Embedding extends Module {
  readonly weight: Parameter; // (num, dim), no weight decay

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: InitOptions = {},
  ) {
    super();
    positiveInt("Embedding: numEmbeddings", numEmbeddings);
    positiveInt("Embedding: embeddingDim", embeddingDim);
    const shape = [numEmbeddings, embeddingDim];
    // Inside initEmptyWeights (loading a checkpoint) the values would be overwritten: draw none.
    this.weight = this.registerParameter("weight", buildingEmptyWeights() ? Parameter.meta(shape) : new Parameter(normalInit(shape, opts)));
  }

  /** int32 ids of any shape → (...ids.shape, dim). */
  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight);
  }
}
