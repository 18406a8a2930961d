/** The wire: MessagePack codec, message schemas and their validation, request signing. */
export { decode, DecodeArena, encode } from "./codec.ts";
export * from "./tensor.ts";
export {
  BACKEND_NAMES,
  decodeBody,
  decodeEvaluateResponse,
  decodeGradientsResponse,
  ErrorBodySchema,
  EvaluateRequestSchema,
  EvaluateResponseSchema,
  GradientsRequestSchema,
  GradientsResponseSchema,
  HealthResponseSchema,
  parseHealth,
  PROTOCOL,
  validateMessage,
  type ChunkMomentsMessage,
  type ChunkStatsMessage,
  type ErrorBody,
  type EvaluateRequest,
  type EvaluateRequestInput,
  type EvaluateResponse,
  type GradientBlock,
  type GradientsRequest,
  type GradientsRequestInput,
  type GradientsResponse,
  type HealthResponse,
  type Timing,
} from "./messages.ts";
export * from "./request-check.ts";
export * from "./signing.ts";
export * from "./wire-error.ts";
