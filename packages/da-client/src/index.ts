export { type DaLayer, DaLayerError, type DaReceipt, type DaStatus } from "./layer.js";
