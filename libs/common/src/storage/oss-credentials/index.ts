import { credentialSourceOf, OssSettings } from '../../config/oss-settings';
import { ecsRoleSource, oidcSource, staticSource, uriSource } from './credential-sources';
import { CredentialSource } from './credentials';
import { RefreshingCredentials } from './refreshing-credentials';

export * from './credentials';
export { RefreshingCredentials } from './refreshing-credentials';

/**
 * The credential source of a store's settings, in the order of Alibaba's default chain (static
 * keys, RRSA/OIDC, ECS RAM role, credentials URI; see credentialSourceOf), cached and refreshed.
 */
export function ossCredentials(s: OssSettings): RefreshingCredentials {
  return new RefreshingCredentials(sourceOf(s));
}

function sourceOf(s: OssSettings): CredentialSource {
  switch (credentialSourceOf(s)) {
    case 'static':
      return staticSource({
        accessKeyId: s.accessKeyId!,
        accessKeySecret: s.accessKeySecret!,
        securityToken: s.securityToken,
      });
    case 'oidc':
      return oidcSource(s.oidc!);
    case 'ecs-role':
      return ecsRoleSource(s.ecsRole!);
    case 'uri':
      return uriSource(s.credentialsUri!);
    default:
      throw new Error(
        'no OSS credentials configured (OSS_ACCESS_KEY_ID/_SECRET, RRSA, ALIBABA_CLOUD_ECS_METADATA or ALIBABA_CLOUD_CREDENTIALS_URI)',
      );
  }
}
