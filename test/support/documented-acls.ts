// The ACL table of docs/deploy.md as kafkajs ACL entries: the least-privilege test applies exactly
// what the docs tell users to grant, so the list is proven, not guessed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AclEntry,
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  ResourcePatternTypes,
} from 'kafkajs';
import { ROOT } from './infra';

export interface DocumentedAcl {
  principal: string;
  resource: 'topic' | 'group' | 'transactional-id' | 'cluster';
  pattern: 'literal' | 'prefixed';
  name: string;
  operation: keyof typeof AclOperationTypes;
}

const RESOURCE: Record<DocumentedAcl['resource'], AclResourceTypes> = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  'transactional-id': AclResourceTypes.TRANSACTIONAL_ID,
  cluster: AclResourceTypes.CLUSTER,
};

/** Rows between the acl-table markers of docs/deploy.md, one per operation. */
export function documentedAcls(): DocumentedAcl[] {
  const doc = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
  const table = /<!-- acl-table[^>]*-->([\s\S]*?)<!-- \/acl-table -->/.exec(doc)?.[1];
  if (!table) throw new Error('docs/deploy.md has no <!-- acl-table --> section');
  const rows: DocumentedAcl[] = [];
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((c) => c.trim().replace(/`/g, ''));
    if (cells.length < 6 || cells[1] === 'principal' || /^-+$/.test(cells[1])) continue;
    const [, principal, resource, pattern, name, operations] = cells;
    if (!(resource in RESOURCE)) throw new Error(`unknown resource "${resource}" in: ${line}`);
    for (const op of operations.split(',').map((o) => o.trim())) {
      if (!(op in AclOperationTypes)) throw new Error(`unknown operation "${op}" in: ${line}`);
      rows.push({
        principal,
        resource: resource as DocumentedAcl['resource'],
        pattern: pattern as DocumentedAcl['pattern'],
        name,
        operation: op as DocumentedAcl['operation'],
      });
    }
  }
  return rows;
}

/** The kafkajs entry granting `acl` to User:<its principal>. */
export function aclEntry(acl: DocumentedAcl): AclEntry {
  return {
    resourceType: RESOURCE[acl.resource],
    resourceName: acl.resource === 'cluster' ? 'kafka-cluster' : acl.name,
    resourcePatternType:
      acl.pattern === 'prefixed' ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
    principal: `User:${acl.principal}`,
    host: '*',
    operation: AclOperationTypes[acl.operation],
    permissionType: AclPermissionTypes.ALLOW,
  };
}
