// Typed React Query hooks over the generated client: one key per (procedure, input).
import { type UseQueryOptions, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type CallArgsOf, client, type InputOf, type OutputOf, type ProcedureName } from "./api";

type Extra<P extends ProcedureName> = Omit<UseQueryOptions<OutputOf<P>>, "queryKey" | "queryFn">;

export function useCall<P extends ProcedureName>(method: P, input?: InputOf<P>, options?: Extra<P>) {
  return useQuery<OutputOf<P>>({
    queryKey: [method, input ?? null],
    queryFn: ({ signal }) => client.call(method, ...([input, { signal }] as unknown as CallArgsOf<P>)),
    ...options,
  });
}

/** A mutation; on success every cached query of the given routers is refreshed. */
export function useMutate<P extends ProcedureName>(method: P, invalidate: string[] = []) {
  const queries = useQueryClient();
  return useMutation<OutputOf<P>, Error, InputOf<P>>({
    mutationFn: (input) => client.call(method, ...([input] as unknown as CallArgsOf<P>)),
    onSuccess: async () => {
      await queries.invalidateQueries({
        predicate: (query) => invalidate.some((prefix) => String(query.queryKey[0]).startsWith(prefix)),
      });
    },
  });
}
