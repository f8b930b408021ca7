// The PyTorch peer of bench/train.ts: which runs of bench/torch_train.py to make (hand-written and
// stock blocks, thread counts, OpenBLAS settings, fp32 and bf16 autocast) and whether a run may be
// a peer at all (a reference-BLAS PyTorch is refused). Pure functions; runs nothing.

/** How the peer's blocks are written: bench/torch_train.py's own, or nn.TransformerEncoder. */
export type TorchModule = 'hand' | 'stock';
export const TORCH_MODULES: readonly TorchModule[] = ['hand', 'stock'];
/** tanh: tlc's GELU (F.gelu(approximate='tanh')); erf: F.gelu's default, what activation='gelu' gives */
export type TorchGelu = 'tanh' | 'erf';

/** The OpenBLAS tuning variables the bench runs PyTorch with as found and with removed. */
export const TOKEN_ENV = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'] as const;

/** What bench/torch_train.py found about the library its fp32 GEMMs (`sgemm_`) run in. */
export interface BlasIdentity {
  /** torch's build config BLAS_INFO ('generic' for Debian's build: it calls libblas.so.3) */
  torch_blas_info: string | null;
  /** the file libtorch_cpu's `sgemm_` resolves to, or null when it could not be told */
  sgemm_from: string | null;
  /** 'openblas' | 'blis' | 'mkl' | 'reference' | 'built-in (...)' | 'unknown' */
  kind: string;
  /** OpenBLAS only: openblas_get_config() and openblas_get_corename() */
  config?: string;
  corename?: string;
}

export interface TorchPlan {
  id: string;
  module: TorchModule;
  gelu: TorchGelu;
  threads: number;
  precision: 'fp32' | 'bf16';
  /** OPENBLAS_CORETYPE/L2_SIZE as found ('machine') or removed ('unset') */
  openblasEnv: 'machine' | 'unset';
  /** the --torch-blas name the run's library path comes from */
  blas: string;
  /** torch_train.py flags beyond the model shape and the step counts */
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface PlanOptions {
  modules: readonly TorchModule[];
  /** tanh (tlc's, the default); erf adds runs with F.gelu's exact form, a different function */
  gelus: readonly TorchGelu[];
  threads: number[];
  /** fp32 always; bf16 when tlc's bf16 runs too (compared with PyTorch's CPU bf16 autocast) */
  precisions: readonly ('fp32' | 'bf16')[];
  /** --torch-blas name -> folder put first on LD_LIBRARY_PATH (null: the system's libblas.so.3) */
  blasDirs: Map<string, string | null>;
}

/** The environment of one PyTorch run: threads pinned both ways, OpenBLAS tuning kept or removed. */
export function torchEnv(
  base: NodeJS.ProcessEnv,
  threads: number,
  openblasEnv: 'machine' | 'unset',
  blasDir: string | null,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...base,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
  };
  if (openblasEnv === 'unset') for (const k of TOKEN_ENV) delete env[k];
  if (blasDir) env['LD_LIBRARY_PATH'] = [blasDir, base['LD_LIBRARY_PATH']].filter(Boolean).join(':');
  return env;
}

/**
 * Every PyTorch run of a config. fp32: each module x BLAS x thread count x OpenBLAS setting (the
 * variables as found and removed, when any was found). bf16 (autocast): each module x BLAS x thread
 * count with the variables as found only — under autocast every GEMM, forward and backward, is
 * bf16 and runs in oneDNN (torch_train.py counts them by dtype), so OpenBLAS is never called.
 */
export function torchPlans(base: NodeJS.ProcessEnv, o: PlanOptions): TorchPlan[] {
  const found = TOKEN_ENV.some((k) => base[k] !== undefined);
  const out: TorchPlan[] = [];
  for (const precision of o.precisions) {
    const envs = precision === 'fp32' && found ? (['machine', 'unset'] as const) : (['machine'] as const);
    for (const module of o.modules)
      for (const gelu of o.gelus)
        for (const [blas, dir] of o.blasDirs)
          for (const threads of o.threads)
            for (const e of envs) {
              const name = gelu === 'tanh' ? module : `${module} ${gelu}`;
              out.push({
                id:
                  precision === 'fp32'
                    ? `torch ${name} t${threads} ${blas} openblas-env:${e}`
                    : `torch ${name} t${threads} bf16 ${blas}`,
                module,
                gelu,
                threads,
                precision,
                openblasEnv: e,
                blas,
                args: [
                  '--module',
                  module,
                  '--gelu',
                  gelu,
                  '--precision',
                  precision,
                  '--threads',
                  String(threads),
                ],
                env: torchEnv(base, threads, e, dir),
              });
            }
  }
  return out;
}

/** Parses --torch-modules: a comma list of hand and stock. */
export function parseModules(s: string): TorchModule[] {
  return s.split(',').map((m) => {
    const found = TORCH_MODULES.find((x) => x === m);
    if (!found) throw new Error(`--torch-modules: expected hand and/or stock, found '${m}'`);
    return found;
  });
}

/** Parses --torch-gelu: a comma list of tanh and erf. */
export function parseGelus(s: string): TorchGelu[] {
  return s.split(',').map((g) => {
    if (g !== 'tanh' && g !== 'erf') throw new Error(`--torch-gelu: expected tanh and/or erf, found '${g}'`);
    return g;
  });
}

const OPTIMIZED = ['openblas', 'blis', 'mkl'];

/**
 * Why a PyTorch run cannot be a peer, or null when it can. Refused: Netlib's reference BLAS (its
 * GEMMs run ~20-30x slower than OpenBLAS's here, so any ratio against it says nothing about tlc)
 * and a library the check could not identify (better no number than one against an unknown BLAS).
 */
export function blasRefusal(id: BlasIdentity, where: string): string | null {
  if (OPTIMIZED.includes(id.kind)) return null;
  const found =
    id.kind === 'reference'
      ? `the reference BLAS (Netlib, ${id.sgemm_from}): its GEMMs are ~20-30x slower than OpenBLAS's`
      : `a BLAS this check could not identify (${id.kind}, sgemm_ from ${id.sgemm_from ?? 'nowhere found'}; torch BLAS_INFO=${id.torch_blas_info})`;
  return (
    `refusing the PyTorch peer ${where}: its fp32 GEMMs run in ${found}, so a ratio against it would ` +
    'measure the BLAS, not tlc.\n' +
    '  hint: install OpenBLAS (`TLC_WITH_TORCH=1 bash scripts/bootstrap.sh` as root installs ' +
    'libopenblas0-openmp with python3-torch), or run with --torch-blas openblas-openmp (the default: ' +
    "it puts Debian's OpenBLAS first on the library path, fetched into the tlc cache when absent)"
  );
}
