/** Contract deployment through viem: send, wait to be mined, and fail loudly when it did not create the contract. */
import type { Abi, Address, Hex, PublicClient, WalletClient } from "viem";

/** A wallet (with an account) to send from and a public client to wait with, on the same chain. */
export interface BridgeClients {
  wallet: WalletClient;
  public: PublicClient;
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
