import { createSocket, Socket } from 'node:dgram';

/**
 * A DNS server for the end-to-end harness, standing in for the cluster DNS: it answers A queries (UDP) for the names
 * it was given, NXDOMAIN for any other name, and an empty answer for other types of a known name. Enough for nginx's
 * `resolver`; it listens only on an address of a namespace the harness made.
 */
export class StubDns {
  /** Starts a server on `host`:`port`. */
  static async start(host: string, port = 53): Promise<StubDns> {
    const socket = createSocket('udp4');
    const dns = new StubDns(socket);
    socket.on('message', (msg, from) => {
      const reply = dns.answer(msg);
      if (reply) socket.send(reply, from.port, from.address);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => { socket.off('error', reject); resolve(); });
    });
    return dns;
  }

  private readonly records = new Map<string, string[]>();
  private asked = 0;

  private constructor(private readonly socket: Socket) {}

  /**
   * Answers `name` (case-insensitive, without a trailing dot) with the IPv4 address `ip`, or each of several (as a
   * headless Service's name answers its pods); undefined removes it.
   */
  set(name: string, ip: string | readonly string[] | undefined): void {
    if (ip === undefined) this.records.delete(name.toLowerCase());
    else this.records.set(name.toLowerCase(), typeof ip === 'string' ? [ip] : [...ip]);
  }

  /** How many queries were answered so far. */
  get queries(): number {
    return this.asked;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private answer(msg: Buffer): Buffer | undefined {
    if (msg.length < 12 || (msg[2] & 0x80) !== 0 || msg.readUInt16BE(4) !== 1) return undefined;
    const labels: string[] = [];
    let at = 12;
    while (at < msg.length && msg[at] !== 0) {
      const len = msg[at];
      if ((len & 0xc0) !== 0 || at + 1 + len > msg.length) return undefined;
      labels.push(msg.toString('latin1', at + 1, at + 1 + len));
      at += 1 + len;
    }
    if (at + 5 > msg.length) return undefined;
    const question = msg.subarray(12, at + 5);
    const qtype = msg.readUInt16BE(at + 1);
    const ips = this.records.get(labels.join('.').toLowerCase());
    const answers = ips !== undefined && qtype === 1 ? ips : [];
    this.asked++;
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    // QR, the query's RD, RA; RCODE 3 (NXDOMAIN) for an unknown name.
    header.writeUInt16BE(0x8080 | (msg[2] & 0x01) << 8 | (ips === undefined ? 3 : 0), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const records = answers.map((a) => {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(5, 6); // TTL, seconds
      rr.writeUInt16BE(4, 10);
      a.split('.').forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i));
      return rr;
    });
    return Buffer.concat([header, question, ...records]);
  }
}
