export { ANVIL_DEV_PRIVATE_KEY, type Anvil, type AnvilOptions, anvilBinary, startAnvil } from "./anvil.js";
export { OrdoLightClientAbi } from "./generated/OrdoLightClient.js";
export {
  type CommitteeArgs,
  committeeArgs,
  deployLightClient,
  finalityCertificateArgs,
  g1ToEip2537,
  g2ToEip2537,
  type HeaderArgs,
  headerArgs,
} from "./light-client.js";
