import type { Carrier, CertificateType, Product } from '../domain/application.js';
import { CaError } from '../errors.js';
import type { EndEntityProfileId } from './profile-ids.js';

/**
 * What each product is made of (profiles.md "Types"): an e-imza card carries a signature, an
 * authentication and an encryption certificate; mobile-ID a signature and an authentication pair
 * on the SIM.
 */
export interface ProductDefinition {
  types: Partial<Record<CertificateType, EndEntityProfileId>>;
  carriers: readonly Carrier[];
  /** Mobile-ID is bound to the phone number (MSISDN) in the RA records. */
  needsPhone: boolean;
}

export const PRODUCT_DEFINITIONS: Readonly<Record<Product, ProductDefinition>> = {
  card: { types: { signature: 'signature', authentication: 'authentication', encryption: 'encryption' }, carriers: ['card', 'usb-token'], needsPhone: false },
  'mobile-id': { types: { signature: 'mobile-sign', authentication: 'mobile-auth' }, carriers: ['sim'], needsPhone: true },
};

export function requiredTypes(product: Product): CertificateType[] {
  return Object.keys(PRODUCT_DEFINITIONS[product].types) as CertificateType[];
}

/** The profile that issues `type` for `product`; a type the product does not have is `policyForbids`. */
export function profileFor(product: Product, type: CertificateType): EndEntityProfileId {
  const profile = PRODUCT_DEFINITIONS[product].types[type];
  if (!profile) throw new CaError('policyForbids', `a ${product} application has no ${type} certificate`, { code: 'typeNotInProduct' });
  return profile;
}

/** The carrier, defaulting to the product's first; one the product is not sold on is refused. */
export function carrierFor(product: Product, requested: Carrier | undefined): Carrier {
  const carriers = PRODUCT_DEFINITIONS[product].carriers;
  const carrier = requested ?? carriers[0]!;
  if (!carriers.includes(carrier)) {
    throw new CaError('malformed', `${product} is issued on ${carriers.join(' or ')}, not ${carrier}`, { code: 'invalidCarrier' });
  }
  return carrier;
}
