/** The certificate types of profiles.md, by the names `eimza cert issue --profile` takes. */
export const PROFILE_IDS = [
  'signature',
  'authentication',
  'encryption',
  'mobile-auth',
  'mobile-sign',
  'server-signing',
  'server-tls',
  'ocsp-signer',
  'cmp-signer',
  'issuing-ca',
  'root-ca',
] as const;
export type ProfileId = (typeof PROFILE_IDS)[number];

/** The profiles issued from a holder's CSR; the others belong to the CA's own hierarchy. */
export const END_ENTITY_PROFILES = [
  'signature',
  'authentication',
  'encryption',
  'mobile-auth',
  'mobile-sign',
  'server-signing',
  'server-tls',
] as const satisfies readonly ProfileId[];
export type EndEntityProfileId = (typeof END_ENTITY_PROFILES)[number];

export function isProfileId(id: string): id is ProfileId {
  return (PROFILE_IDS as readonly string[]).includes(id);
}

export function isEndEntityProfile(id: string): id is EndEntityProfileId {
  return (END_ENTITY_PROFILES as readonly string[]).includes(id);
}
