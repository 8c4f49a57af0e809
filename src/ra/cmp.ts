import { CMP_CA, loadCmpSigner, type CmpSigner } from '../ca/cmp-signer.js';
import { CaError, isCaError, isTransient } from '../errors.js';
import type { ServerCertificateType } from '../policy/security-servers.js';
import {
  buildPkiMessage,
  caCertsInfo,
  certHashMatches,
  cmpFailureFor,
  parsePkiMessage,
  tryParsePkiHeader,
  verifyMacProtection,
  verifyPopo,
  verifySignatureProtection,
  type CertReqMsg,
  type PkiBodyInput,
  type PkiFailureInfo,
  type PkiHeader,
  type PkiMessage,
} from '../x509/cmp.js';
import { decodeName } from '../x509/names.js';
import { CMP_OIDS } from '../x509/oids.js';
import { inspectCertificate } from '../x509/inspect.js';
import type { RaDeps } from './deps.js';
import {
  authenticateEnrolment,
  enrolmentFailed,
  enrolmentSecret,
  issueOverCmp,
  revokeOwnCertificate,
  serverCertificates,
  serverOfCertificate,
} from './security-servers.js';
import { changeCertificateStatus } from '../ca/status.js';
import { findServer } from '../store/security-servers.js';

/**
 * CMP for security servers (RFC 4210 with the lightweight profile of RFC 9483), the codec in
 * src/x509/cmp*.ts: ir/cr/p10cr protected by a MAC keyed with the enrolment secret (senderKID =
 * the enrolment reference), kur and rr signed with the server's current certificate (rr with a
 * MAC too), certConf/pkiConf, genm for the CA certificates. Every answer, error messages included,
 * is signed by the portal CA's CMP signer. Answers always come back as a PKIMessage.
 */
export interface CmpService {
  handle(der: Uint8Array): Promise<Uint8Array>;
}

/** How long after an enrolment ends its reference still MACs the certConf of its last certificate. */
const CONFIRM_GRACE_MS = 10 * 60_000;

/** id-it-certProfile (RFC 9483 §4.1.1): a client may name the profile; ours are "signing" and "tls". */
const CERT_PROFILE = '1.3.6.1.5.5.7.4.21';

type Sender = { kind: 'enrolment'; serverId: string } | { kind: 'certificate'; serverId: string; type: ServerCertificateType; serial: string; der: Uint8Array };

export function createCmpService(ra: RaDeps, log: (message: string, fields?: Record<string, unknown>) => void = () => {}): CmpService {
  let signer: Promise<CmpSigner | null> | null = null;
  const cmpSigner = async (): Promise<CmpSigner> => {
    signer ??= loadCmpSigner(ra.ca, CMP_CA);
    const s = await signer;
    if (!s) {
      signer = null;
      throw new CaError('hsmUnavailable', 'the CA has no CMP signer yet', { code: 'systemUnavail' });
    }
    return s;
  };

  /** signing or tls: the certProfile the client names, else a subject CN that is the server's DNS name means TLS. */
  async function typeBySubject(m: PkiMessage, subject: { shortName: string; value: string }[], serverId: string): Promise<ServerCertificateType> {
    const hint = profileHint(m);
    if (hint) return hint;
    const cn = subject.find((a) => a.shortName === 'CN')?.value.toLowerCase();
    const server = await findServer(ra.ca.db, serverId);
    return cn !== undefined && cn === server?.dnsName.toLowerCase() ? 'tls' : 'signing';
  }

  async function answer(inReplyTo: PkiHeader | null, body: PkiBodyInput, implicitConfirm = false): Promise<Uint8Array> {
    const s = await cmpSigner();
    return buildPkiMessage({ inReplyTo, body, protection: { kind: 'signature', signer: s.signer, certificate: s.certificateDer, chain: s.chainDer.slice(1) }, implicitConfirm });
  }

  async function errorAnswer(header: PkiHeader | null, e: unknown): Promise<Uint8Array> {
    const failInfo: PkiFailureInfo = failureOf(e);
    if (!isCaError(e) || e.kind === 'internal') log('CMP request failed', { error: e instanceof Error ? e.message : String(e) });
    const detail = isCaError(e) && e.kind !== 'internal' ? e.detail : 'internal error';
    return answer(header, { type: 'error', status: { status: 'rejection', failInfo: [failInfo], statusString: [detail] } });
  }

  async function authenticate(m: PkiMessage): Promise<Sender> {
    if (!m.protection || !m.header.protectionAlg) throw new CaError('unauthorized', 'the request is not protected', { code: 'cmpProtectionMissing' });
    const alg = m.header.protectionAlg.oid;
    if (alg === CMP_OIDS.passwordBasedMac || alg === CMP_OIDS.pbmac1) {
      const ref = m.header.senderKID ? Buffer.from(m.header.senderKID).toString('utf8') : '';
      // The reference is checked first; a MAC that does not verify counts as a wrong secret.
      const confirmation = m.body.type === 'certConf';
      const { serverId } = await authenticateEnrolment(ra, ref, null, confirmation ? { endedGraceMs: CONFIRM_GRACE_MS } : {}).catch(() => {
        throw new CaError('unauthorized', 'unknown, expired or spent enrolment reference', { code: 'cmpProtectionInvalid' });
      });
      if (!verifyMacProtection(m, Buffer.from(enrolmentSecret(ra, ref)))) {
        await enrolmentFailed(ra, ref);
        throw new CaError('unauthorized', 'the MAC does not verify with the enrolment secret', { code: 'cmpProtectionInvalid' });
      }
      return { kind: 'enrolment', serverId };
    }
    const [certificate] = m.extraCerts;
    if (!certificate) throw new CaError('unauthorized', 'a signed request carries its certificate first in extraCerts', { code: 'signerNotTrusted' });
    const owner = await serverOfCertificate(ra, certificate);
    if (!verifySignatureProtection(m, certificate)) throw new CaError('unauthorized', 'the signature does not verify', { code: 'cmpProtectionInvalid' });
    return { kind: 'certificate', serverId: owner.serverId, type: owner.type, serial: owner.serial, der: certificate };
  }

  async function handleBody(m: PkiMessage, sender: Sender): Promise<{ body: PkiBodyInput; implicitConfirm: boolean }> {
    const body = m.body;
    const grant = m.header.implicitConfirm;
    switch (body.type) {
      case 'ir':
      case 'cr':
      case 'kur': {
        const request = onlyRequest(body.requests);
        verifyPopo(request);
        if (!request.template.publicKey) throw new CaError('malformed', 'the certificate template has no public key', { code: 'badCertTemplate' });
        let type: ServerCertificateType;
        if (body.type === 'kur') {
          if (sender.kind !== 'certificate') throw new CaError('unauthorized', 'a key update is signed with the certificate it replaces', { code: 'notAuthorized' });
          if (request.oldCertId && request.oldCertId.serial !== sender.serial) {
            throw new CaError('malformed', 'oldCertID is not the certificate that signed the request', { code: 'badCertId' });
          }
          type = sender.type;
        } else {
          if (sender.kind !== 'enrolment') throw new CaError('unauthorized', 'a first certificate is requested with the enrolment secret', { code: 'notAuthorized' });
          type = await typeBySubject(m, request.template.subject ? decodeName(request.template.subject.der) : [], sender.serverId);
        }
        const subject = request.template.subject ? decodeName(request.template.subject.der) : [];
        const issued = await issueOverCmp(ra, {
          serverId: sender.serverId,
          type,
          request: { kind: 'crmf', certRequest: request.certRequest, publicKey: request.template.publicKey, subject: body.type === 'kur' ? [] : subject },
          proof: sender.kind === 'enrolment' ? 'enrolment-secret' : 'current-certificate',
        });
        const replyType = body.type === 'ir' ? 'ip' : body.type === 'cr' ? 'cp' : 'kup';
        return {
          body: {
            type: replyType,
            ...(replyType === 'ip' ? { caPubs: [issued.chainDer[issued.chainDer.length - 1]!] } : {}),
            responses: [{ certReqId: request.certReqId, status: { status: 'accepted' }, certificate: issued.der }],
          },
          implicitConfirm: grant,
        };
      }
      case 'p10cr': {
        if (sender.kind !== 'enrolment') throw new CaError('unauthorized', 'a first certificate is requested with the enrolment secret', { code: 'notAuthorized' });
        const type = await typeBySubject(m, body.csr.subject, sender.serverId);
        const issued = await issueOverCmp(ra, { serverId: sender.serverId, type, request: { kind: 'p10cr', csr: body.csr.der }, proof: 'enrolment-secret' });
        return { body: { type: 'cp', responses: [{ certReqId: -1, status: { status: 'accepted' }, certificate: issued.der }] }, implicitConfirm: grant };
      }
      case 'certConf': {
        // Certificates are active when issued (implicit confirmation by default); a confirmation is
        // checked against the server's certificates, and a rejected one is revoked.
        const mine = await serverCertificates(ra, sender.serverId);
        for (const status of body.statuses) {
          const match = mine.find((c) => certHashMatches(status, c.der));
          if (!match) throw new CaError('notFound', 'certHash matches no certificate of this server', { code: 'badCertId' });
          if (status.statusInfo?.status === 'rejection') {
            await changeCertificateStatus(ra.ca, 'revoke', { serial: match.serial, actor: 'cmp', reason: 'superseded', comment: 'rejected in certConf' });
          }
        }
        return { body: { type: 'pkiConf' }, implicitConfirm: false };
      }
      case 'rr': {
        const portal = inspectCertificate((await ra.ca.cas.get(CMP_CA)).certificateDer).subject;
        const statuses = [];
        for (const r of body.revocations) {
          if (!r.serial || r.issuer?.text !== portal) {
            statuses.push({ status: 'rejection' as const, failInfo: ['badCertId' as const], statusString: ['not a certificate of this CA'] });
            continue;
          }
          try {
            await revokeOwnCertificate(ra, sender.serverId, r.serial, r.reason);
            statuses.push({ status: 'accepted' as const });
          } catch (e) {
            statuses.push({ status: 'rejection' as const, failInfo: [failureOf(e)], statusString: [isCaError(e) ? e.detail : 'internal error'] });
          }
        }
        return { body: { type: 'rp', statuses }, implicitConfirm: false };
      }
      case 'genm': {
        const ca = await ra.ca.cas.get(CMP_CA);
        const wanted = body.infos.length === 0 || body.infos.some((i) => i.oid === CMP_OIDS.caCerts);
        return { body: { type: 'genp', infos: wanted ? [caCertsInfo(ca.chainDer)] : [] }, implicitConfirm: false };
      }
      default:
        throw new CaError('malformed', `${body.type} is not a request this CA answers`, { code: 'badRequest' });
    }
  }

  return {
    async handle(der) {
      let m: PkiMessage;
      try {
        m = parsePkiMessage(der);
      } catch (e) {
        return errorAnswer(tryParsePkiHeader(der), e);
      }
      try {
        const sender = await authenticate(m);
        const { body, implicitConfirm } = await handleBody(m, sender);
        return await answer(m.header, body, implicitConfirm && ['ip', 'cp', 'kup'].includes(body.type));
      } catch (e) {
        return errorAnswer(m.header, e);
      }
    },
  };
}

function onlyRequest(requests: CertReqMsg[]): CertReqMsg {
  // RFC 9483 §4.1.1: exactly one certificate request per message.
  if (requests.length !== 1) throw new CaError('malformed', 'one certificate request per message', { code: 'badRequest' });
  return requests[0]!;
}

function profileHint(m: PkiMessage): ServerCertificateType | null {
  const info = m.header.generalInfo.find((i) => i.oid === CERT_PROFILE);
  if (!info?.value) return null;
  const text = Buffer.from(info.value).toString('latin1');
  if (text.includes('tls')) return 'tls';
  if (text.includes('signing')) return 'signing';
  return null;
}

/** Our refusals as PKIFailureInfo bits (RFC 4210 §5.2.3). */
function failureOf(e: unknown): PkiFailureInfo {
  if (isCaError(e)) {
    if (e.code === 'subjectMismatch') return 'badCertTemplate';
    if (e.code === 'keyAlreadyUsed') return 'duplicateCertReq';
    if (e.code === 'notAuthorized' || e.code === 'serverDecommissioned') return 'notAuthorized';
    if (e.code === 'systemUnavail' || isTransient(e)) return 'systemUnavail';
  }
  return cmpFailureFor(e);
}
