// The layers of src/ (docs/architecture.md), enforced: `npm run deps` (part of `npm test`).
//
//   core      pure: model, configuration, planner, explain. No I/O, no Node built-ins.
//   lib       small generic helpers (glob, units, references, labels, pool, cron glue).
//   generated precompiled validators, written by tools/.
//   engine    the Engine port and its dockerode adapter; the only layer that imports dockerode.
//   runtime   the daemon and the cycle: gathers inputs, plans, executes, records.
//   cli       the commands and their rendering.
//
// A layer imports only the layers listed before it (cli may import everything).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle makes a layer impossible to read on its own; type-only edges count too.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'core is the pure planner: it reads no clock, file or socket, and knows nothing of the shell around it.',
      from: { path: '^src/core/' },
      to: { path: '^src/(engine|runtime|cli)/' },
    },
    {
      name: 'core-no-node-builtins',
      severity: 'error',
      comment: 'core runs on plain data; Node built-ins mean I/O.',
      from: { path: '^src/core/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'lib-is-generic',
      severity: 'error',
      comment: 'lib holds helpers that know nothing of reclaimd.',
      from: { path: '^src/lib/' },
      to: { path: '^src/(core|engine|runtime|cli|generated)/' },
    },
    {
      name: 'engine-below-runtime',
      severity: 'error',
      comment: 'The engine port and adapter serve the runtime, never the other way round.',
      from: { path: '^src/engine/' },
      to: { path: '^src/(runtime|cli)/' },
    },
    {
      name: 'engine-reads-only-the-model',
      severity: 'error',
      comment: 'The adapter fills the model; it must not reach into the planner, explain or configuration.',
      from: { path: '^src/engine/' },
      to: { path: '^src/core/(planner|explain|match|config|last-use)/' },
    },
    {
      name: 'runtime-below-cli',
      severity: 'error',
      from: { path: '^src/runtime/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'only-engine-imports-dockerode',
      severity: 'error',
      comment: "dockerode and docker-modem are the adapter's business.",
      from: { path: '^src/', pathNot: '^src/engine/' },
      to: { path: 'node_modules/(dockerode|docker-modem)/' },
    },
    {
      name: 'no-tools-or-tests-in-src',
      severity: 'error',
      comment: 'What ships does not import generators, tests or the benchmark.',
      from: { path: '^src/' },
      to: { path: '^(tools|test|bench)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
