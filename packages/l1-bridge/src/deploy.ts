/** Contract deployment through viem: send, wait to be mined, and fail loudly when it did not create the contract. */
import {
  type Abi,
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  type HttpTransport,
  http,
  type PublicClient,
  type WalletClient,
} from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";

/** A wallet (with an account) to send from and a public client to wait with, on the same chain. */
export interface BridgeClients {
  wallet: WalletClient;
  public: PublicClient;
}

/** Clients for the EVM node at `rpcUrl` (chain `chainId`), sending from the account of `privateKey`. */
export function evmClients(
  rpcUrl: string,
  chainId: number,
  privateKey: Hex,
): { public: PublicClient; wallet: WalletClient<HttpTransport, Chain, PrivateKeyAccount> } {
  const chain = defineChain({
    id: chainId,
    name: `evm-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  return {
    public: createPublicClient({ chain, transport: http(rpcUrl) }) as PublicClient,
    wallet: createWalletClient({ chain, transport: http(rpcUrl), account: privateKeyToAccount(privateKey) }),
  };
}

export async function deployContract(
  clients: BridgeClients,
  abi: Abi | readonly unknown[],
  bytecode: Hex,
  args: readonly unknown[] = [],
): Promise<Address> {
  const account = clients.wallet.account;
  if (!account) throw new Error("the wallet client needs an account to deploy");
  const hash = await clients.wallet.deployContract({
    abi: abi as Abi,
    bytecode,
    args,
    account,
    chain: clients.wallet.chain,
  });
  const receipt = await clients.public.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress || receipt.status !== "success")
    throw new Error(`deployment failed (transaction ${hash})`);
  return receipt.contractAddress;
}
