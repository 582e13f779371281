// CloudFormation template validator against the resource specification of npm
// @aws-cdk/cfnspec (tests/e2e/test_export_cfn.py), offline: cfn-lint from npm is too old to know
// AWS::Pipes::Pipe, so the template is checked against the spec directly.
//   node cfn_validate.mjs TEMPLATE.json
// prints {"errors":[...], "resources":N} and exits 1 when there is any error. Checked:
// top-level sections; every resource type exists; every property exists for its type and
// required ones are present; primitive types, lists, maps and nested property types match,
// recursively; Ref and Fn::GetAtt (also inside Fn::Sub strings and inside Json-typed values
// such as IAM policy documents) name a resource or parameter of the template, and a GetAtt
// attribute exists for the referenced resource's type.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const base = process.env.SALESPIPE_ORACLES_DIR
  ? pathToFileURL(process.env.SALESPIPE_ORACLES_DIR + '/package.json')
  : new URL('../../../tools/package.json', import.meta.url);
const require = createRequire(base);
const spec = JSON.parse(readFileSync(
  require.resolve('@aws-cdk/cfnspec/spec/specification.json'), 'utf8'));

const SECTIONS = new Set(['AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters',
  'Mappings', 'Conditions', 'Transform', 'Resources', 'Outputs', 'Rules']);
const RESOURCE_KEYS = new Set(['Type', 'Properties', 'DependsOn', 'Condition', 'Metadata',
  'DeletionPolicy', 'UpdateReplacePolicy', 'UpdatePolicy', 'CreationPolicy']);
const PSEUDO = new Set(['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue',
  'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']);
const PARAM_TYPES = /^(String|Number|List<Number>|CommaDelimitedList|AWS::.*|List<AWS::.*>)$/;
const INTRINSICS = new Set(['Ref', 'Fn::GetAtt', 'Fn::Sub', 'Fn::Join', 'Fn::Select', 'Fn::If',
  'Fn::ImportValue', 'Fn::FindInMap', 'Fn::Base64', 'Fn::Split', 'Fn::GetAZs', 'Fn::Cidr',
  'Fn::Length', 'Fn::ToJsonString']);

const file = process.argv[2];
const tpl = JSON.parse(readFileSync(file, 'utf8'));
const errors = [];
const err = (path, msg) => errors.push(`${path}: ${msg}`);
const resources = tpl.Resources || {};
const params = tpl.Parameters || {};

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const intrinsicName = (v) => {
  if (!isObj(v)) return null;
  const keys = Object.keys(v);
  return keys.length === 1 && INTRINSICS.has(keys[0]) ? keys[0] : null;
};

function checkRef(path, name) {
  if (typeof name !== 'string') return err(path, 'Ref takes a logical id');
  if (!(name in resources) && !(name in params) && !PSEUDO.has(name)) {
    err(path, `Ref to '${name}', which is no resource, parameter or pseudo parameter`);
  }
}

function checkGetAtt(path, target, attr) {
  const res = resources[target];
  if (!res) return err(path, `Fn::GetAtt of '${target}', which is not a resource`);
  const type = spec.ResourceTypes[res.Type];
  if (!type) return; // reported on the resource itself
  if (!(type.Attributes || {})[attr]) {
    err(path, `Fn::GetAtt ${target}.${attr}: ${res.Type} has no attribute '${attr}' ` +
        `(it has: ${Object.keys(type.Attributes || {}).join(', ') || 'none'})`);
  }
}

function checkSubString(path, text, locals) {
  for (const m of text.matchAll(/\$\{([^}!][^}]*)\}/g)) {
    const ref = m[1].trim();
    if (locals.has(ref) || PSEUDO.has(ref)) continue;
    const dot = ref.indexOf('.');
    if (dot < 0) checkRef(path, ref);
    else checkGetAtt(path, ref.slice(0, dot), ref.slice(dot + 1));
  }
}

// Checks an intrinsic function's references; returns true when v was one.
function checkIntrinsic(path, v) {
  const fn = intrinsicName(v);
  if (!fn) return false;
  const arg = v[fn];
  if (fn === 'Ref') checkRef(path, arg);
  else if (fn === 'Fn::GetAtt') {
    const [t, a] = Array.isArray(arg) ? arg : String(arg).split(/\.(.*)/);
    if (typeof t !== 'string' || typeof a !== 'string') err(path, 'Fn::GetAtt takes [id, attr]');
    else checkGetAtt(path, t, a);
  } else if (fn === 'Fn::Sub') {
    if (typeof arg === 'string') checkSubString(path, arg, new Set());
    else if (Array.isArray(arg) && typeof arg[0] === 'string' && isObj(arg[1])) {
      checkSubString(path, arg[0], new Set(Object.keys(arg[1])));
      walkJson(path + '/Fn::Sub[1]', arg[1]);
    } else err(path, 'Fn::Sub takes a string or [string, {vars}]');
  } else walkJson(`${path}/${fn}`, arg);
  return true;
}

// Inside Json-typed values (policy documents): only the references are checked.
function walkJson(path, v) {
  if (checkIntrinsic(path, v)) return;
  if (Array.isArray(v)) v.forEach((x, i) => walkJson(`${path}[${i}]`, x));
  else if (isObj(v)) for (const [k, x] of Object.entries(v)) walkJson(`${path}/${k}`, x);
}

function checkPrimitive(path, prim, v) {
  if (checkIntrinsic(path, v)) return;
  const ok = {
    String: () => typeof v === 'string',
    Integer: () => Number.isInteger(v),
    Long: () => Number.isInteger(v),
    Double: () => typeof v === 'number',
    Boolean: () => typeof v === 'boolean',
    Timestamp: () => typeof v === 'string',
    Json: () => isObj(v) || typeof v === 'string',
  }[prim];
  if (!ok) return err(path, `unknown primitive type ${prim} in the spec`);
  if (!ok()) err(path, `expected ${prim}, got ${JSON.stringify(v)}`);
  if (prim === 'Json') walkJson(path, v);
}

function propertyType(resType, name) {
  return spec.PropertyTypes[`${resType}.${name}`] || spec.PropertyTypes[name];
}

// v against one property's descriptor (PrimitiveType | Type [+ItemType/PrimitiveItemType]).
function checkValue(path, resType, d, v) {
  if (d.PrimitiveType) return checkPrimitive(path, d.PrimitiveType, v);
  if (intrinsicName(v)) return checkIntrinsic(path, v);
  if (d.Type === 'List' || d.Type === 'Map') {
    const item = d.PrimitiveItemType ? { PrimitiveType: d.PrimitiveItemType } : { Type: d.ItemType };
    if (d.Type === 'List') {
      if (!Array.isArray(v)) return err(path, `expected a list, got ${JSON.stringify(v)}`);
      v.forEach((x, i) => checkValue(`${path}[${i}]`, resType, item, x));
    } else {
      if (!isObj(v)) return err(path, `expected a map, got ${JSON.stringify(v)}`);
      for (const [k, x] of Object.entries(v)) checkValue(`${path}/${k}`, resType, item, x);
    }
    return;
  }
  const pt = propertyType(resType, d.Type);
  if (!pt) return err(path, `the spec has no property type ${resType}.${d.Type}`);
  if (pt.PrimitiveType) return checkPrimitive(path, pt.PrimitiveType, v);
  if (!isObj(v)) return err(path, `expected a ${d.Type} object, got ${JSON.stringify(v)}`);
  checkProperties(path, resType, d.Type, pt.Properties || {}, v);
}

function checkProperties(path, resType, what, props, v) {
  for (const [k, x] of Object.entries(v)) {
    if (!props[k]) err(`${path}/${k}`, `${what} has no property '${k}'`);
    else checkValue(`${path}/${k}`, resType, props[k], x);
  }
  for (const [k, d] of Object.entries(props)) {
    if (d.Required && !(k in v)) err(path, `${what} requires property '${k}'`);
  }
}

for (const k of Object.keys(tpl)) if (!SECTIONS.has(k)) err(k, 'not a template section');
if (!isObj(tpl.Resources) || !Object.keys(tpl.Resources).length) err('Resources', 'missing or empty');
for (const [id, p] of Object.entries(params)) {
  if (!/^[A-Za-z0-9]{1,255}$/.test(id)) err(`Parameters/${id}`, 'logical ids are alphanumeric');
  if (!isObj(p) || !PARAM_TYPES.test(p.Type || '')) err(`Parameters/${id}`, `bad Type ${p && p.Type}`);
}
for (const [id, r] of Object.entries(resources)) {
  const path = `Resources/${id}`;
  if (!/^[A-Za-z0-9]{1,255}$/.test(id)) err(path, 'logical ids are alphanumeric, 1-255 characters');
  if (id in params) err(path, 'id used by a parameter too');
  if (!isObj(r)) { err(path, 'not an object'); continue; }
  for (const k of Object.keys(r)) if (!RESOURCE_KEYS.has(k)) err(`${path}/${k}`, 'not a resource attribute');
  const type = spec.ResourceTypes[r.Type];
  if (!type) { err(`${path}/Type`, `unknown resource type ${r.Type}`); continue; }
  const props = r.Properties === undefined ? {} : r.Properties;
  if (!isObj(props)) { err(`${path}/Properties`, 'not an object'); continue; }
  checkProperties(`${path}/Properties`, r.Type, r.Type, type.Properties || {}, props);
  for (const dep of [].concat(r.DependsOn || [])) {
    if (!(dep in resources)) err(`${path}/DependsOn`, `'${dep}' is not a resource`);
  }
}
for (const [id, o] of Object.entries(tpl.Outputs || {})) walkJson(`Outputs/${id}`, o);

process.stdout.write(JSON.stringify({ errors, resources: Object.keys(resources).length }) + '\n');
process.exit(errors.length ? 1 : 0);
