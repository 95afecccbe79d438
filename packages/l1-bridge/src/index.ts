export { ANVIL_DEV_PRIVATE_KEY, type Anvil, type AnvilOptions, anvilBinary, startAnvil } from "./anvil.js";
