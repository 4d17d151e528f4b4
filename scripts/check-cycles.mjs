#!/usr/bin/env node
// Import cycles in src/ and actors/ (the files of tsconfig.json), for `npm run lint`: every
// import, export ... from and import() of a module is resolved as tsc resolves it (NodeNext:
// './x.js' is ./x.ts), and a cycle among the resolved repository files fails the check.
// Type-only imports (`import type`, `export type`, imports whose names are all `type`) are left
// out: they are erased, so they cannot change the order in which modules run.
// Usage: node scripts/check-cycles.mjs [tsconfig] (default tsconfig.json). Exit 1 on a cycle.
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '..');
const configPath = path.resolve(root, process.argv[2] ?? 'tsconfig.json');
const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
const parsed = ts.parseJsonConfigFileContent(config, ts.sys, path.dirname(configPath));
const files = new Set(parsed.fileNames.map((f) => path.resolve(f)));

/** The module specifiers a file imports at run time. */
function runtimeImports(sf) {
  const out = [];
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly =
        node.isTypeOnly ||
        (node.exportClause !== undefined && ts.isNamedExports(node.exportClause) && node.exportClause.elements.length > 0 && node.exportClause.elements.every((e) => e.isTypeOnly));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const graph = new Map();
for (const file of files) {
  const sf = ts.createSourceFile(file, ts.sys.readFile(file) ?? '', ts.ScriptTarget.Latest, true);
  const deps = new Set();
  for (const spec of runtimeImports(sf)) {
    const resolved = ts.resolveModuleName(spec, file, parsed.options, ts.sys).resolvedModule;
    if (resolved === undefined || resolved.isExternalLibraryImport) continue;
    const target = path.resolve(resolved.resolvedFileName);
    if (files.has(target)) deps.add(target);
  }
  graph.set(file, [...deps]);
}

// Tarjan's strongly connected components: a component of more than one file, or a file that
// imports itself, is a cycle.
let index = 0;
const stack = [];
const info = new Map();
const cycles = [];
function strongConnect(v) {
  info.set(v, { index, low: index, onStack: true });
  index++;
  stack.push(v);
  for (const w of graph.get(v)) {
    if (!info.has(w)) {
      strongConnect(w);
      info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
    } else if (info.get(w).onStack) {
      info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
    }
  }
  if (info.get(v).low === info.get(v).index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      info.get(w).onStack = false;
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v).includes(v)) cycles.push(component);
  }
}
for (const v of graph.keys()) if (!info.has(v)) strongConnect(v);

const rel = (f) => path.relative(root, f);
if (cycles.length > 0) {
  console.error(`check-cycles: ${cycles.length} import cycle(s) among ${graph.size} files:`);
  for (const c of cycles) console.error(`  ${c.map(rel).sort().join('\n    ')}\n`);
  process.exit(1);
}
console.log(`check-cycles: no import cycles among ${graph.size} files (${path.relative(root, configPath)})`);
