//! Wireshark's SPDY dissector as an independent check of what we put on the
//! wire: capture a loopback exchange (live with `tshark -i lo`, or, where
//! capturing is not allowed, as a pcap written from the bytes we recorded),
//! decode it with `tshark -d tcp.port==PORT,spdy`, and report every
//! malformed frame and every expert error.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// True when `tshark` can be run.
pub fn available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A live capture of one TCP port on the loopback interface.
pub struct Capture {
    child: Child,
    path: PathBuf,
}

impl Capture {
    /// Starts `tshark -i lo -f "tcp port PORT" -w PATH` and waits (at most
    /// `ready_within`) until it says it is capturing. An error means live
    /// capture is not possible here (no privileges, no loopback device).
    pub fn start(port: u16, path: &Path, ready_within: Duration) -> Result<Capture, String> {
        let mut child = Command::new("tshark")
            // A 64 MiB capture buffer: with the default 2 MiB, a loaded
            // machine drops loopback packets and the counts come out short.
            .args([
                "-i",
                "lo",
                "-B",
                "64",
                "-f",
                &format!("tcp port {port}"),
                "-w",
            ])
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run tshark: {e}"))?;
        let stderr = child.stderr.take().ok_or("tshark has no stderr")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut said = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // "Capturing on 'lo'" comes before the capture really runs;
                // "Capture started." after.
                if line.contains("Capture started") {
                    let _ = tx.send(Ok(()));
                } else {
                    said.push_str(&line);
                    said.push('\n');
                }
            }
            let _ = tx.send(Err(said));
        });
        match rx.recv_timeout(ready_within) {
            Ok(Ok(())) => Ok(Capture {
                child,
                path: path.to_owned(),
            }),
            Ok(Err(said)) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("tshark did not start capturing: {}", said.trim()))
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "tshark did not start capturing within {ready_within:?}"
                ))
            }
        }
    }

    /// Waits (at most `within`) until the capture holds the end of the
    /// connection: `fins` TCP segments with FIN set. The capture runs
    /// behind the traffic, so stopping it at once loses the tail.
    pub fn wait_for_fins(&self, fins: usize, within: Duration) -> Result<(), String> {
        let deadline = std::time::Instant::now() + within;
        loop {
            // The file is being written: a cut-short last block is fine.
            let seen = Command::new("tshark")
                .arg("-r")
                .arg(&self.path)
                .args([
                    "-Y",
                    "tcp.flags.fin == 1",
                    "-T",
                    "fields",
                    "-e",
                    "frame.number",
                ])
                .stderr(Stdio::null())
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
                .unwrap_or(0);
            if seen >= fins {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(format!(
                    "the capture shows {seen} of {fins} FIN segments after {within:?}"
                ));
            }
            // Polling a file another process writes: there is no event to wait on.
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the capture cleanly (SIGINT, so the file is complete), waiting
    /// at most `within`; returns the capture file.
    pub fn stop(mut self, within: Duration) -> Result<PathBuf, String> {
        let pid = self.child.id().to_string();
        let interrupted = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .is_ok_and(|s| s.success());
        if !interrupted {
            let _ = self.child.kill();
        }
        let (tx, rx) = mpsc::channel();
        let mut child = self.child;
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        match rx.recv_timeout(within) {
            Ok(Ok(_)) => Ok(self.path),
            Ok(Err(e)) => Err(format!("waiting for tshark failed: {e}")),
            Err(_) => Err(format!("tshark did not stop within {within:?}")),
        }
    }
}

/// What the dissector made of a capture.
#[derive(Debug, Default)]
pub struct Dissection {
    /// Control frames by type name (`SYN_STREAM`, ...), DATA frames under `DATA`.
    pub frames: BTreeMap<String, usize>,
    /// Header names seen in decoded header blocks (so decompression worked).
    pub header_names: Vec<String>,
    /// Malformed packets and expert errors, one line each.
    pub problems: Vec<String>,
    /// Packets in the capture.
    pub packets: usize,
    /// Segments TCP analysis says the capture missed (a live capture that
    /// dropped packets under load): the frame counts are then incomplete.
    pub lost_segments: usize,
}

impl Dissection {
    /// Frames of one type.
    pub fn count(&self, name: &str) -> usize {
        self.frames.get(name).copied().unwrap_or(0)
    }
}

fn control_name(code: &str) -> String {
    match code {
        "1" => "SYN_STREAM",
        "2" => "SYN_REPLY",
        "3" => "RST_STREAM",
        "4" => "SETTINGS",
        "5" => "NOOP",
        "6" => "PING",
        "7" => "GOAWAY",
        "8" => "HEADERS",
        "9" => "WINDOW_UPDATE",
        "10" => "CREDENTIAL",
        other => return format!("type {other}"),
    }
    .into()
}

fn tshark_fields(
    path: &Path,
    port: u16,
    filter: Option<&str>,
    fields: &[&str],
) -> Result<Vec<Vec<String>>, String> {
    let mut command = Command::new("tshark");
    command
        .arg("-r")
        .arg(path)
        .args(["-d", &format!("tcp.port=={port},spdy")])
        .args(["-o", "tcp.desegment_tcp_streams:TRUE"])
        .args([
            "-T",
            "fields",
            "-E",
            "separator=/t",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ]);
    if let Some(filter) = filter {
        command.args(["-Y", filter]);
    }
    for field in fields {
        command.args(["-e", field]);
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run tshark: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "tshark failed on {}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split('\t').map(str::to_owned).collect())
        .collect())
}

fn split_list(field: Option<&String>) -> Vec<String> {
    field
        .map(|f| {
            f.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Decodes the capture's traffic on `port` as SPDY and collects frame
/// counts, header names and every problem the dissector reports.
pub fn dissect(path: &Path, port: u16) -> Result<Dissection, String> {
    let mut dissection = Dissection::default();
    let rows = tshark_fields(
        path,
        port,
        None,
        &[
            "frame.number",
            "spdy.control_bit",
            "spdy.type",
            "spdy.header.name",
        ],
    )?;
    dissection.packets = rows.len();
    for row in &rows {
        for bit in split_list(row.get(1)) {
            if bit == "0" || bit.eq_ignore_ascii_case("false") {
                *dissection.frames.entry("DATA".into()).or_insert(0) += 1;
            }
        }
        for code in split_list(row.get(2)) {
            *dissection.frames.entry(control_name(&code)).or_insert(0) += 1;
        }
        for name in split_list(row.get(3)) {
            if !dissection.header_names.contains(&name) {
                dissection.header_names.push(name);
            }
        }
    }
    let problems = tshark_fields(
        path,
        port,
        Some(
            "_ws.malformed || _ws.expert.severity >= 8388608 || spdy.inflation_failed \
             || spdy.malformed.frame_data || spdy.malformed.setting_frame \
             || spdy.type.invalid || spdy.rst_stream.invalid || spdy.goaway.invalid",
        ),
        &["frame.number", "_ws.expert.message", "_ws.malformed"],
    )?;
    dissection.lost_segments = tshark_fields(
        path,
        port,
        Some("tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment"),
        &["frame.number"],
    )?
    .len();
    for row in problems {
        dissection.problems.push(format!(
            "packet {}: {}",
            row.first().map(String::as_str).unwrap_or("?"),
            row.get(1..).map(|r| r.join(" ")).unwrap_or_default().trim()
        ));
    }
    Ok(dissection)
}

/// Which way bytes went, seen from the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client to server.
    Sent,
    /// Server to client.
    Received,
}

/// Everything one connection carried, in the order the client saw it.
pub type Recording = Arc<Mutex<Vec<(Direction, Vec<u8>)>>>;

/// Wraps a connection and records every byte each way, for
/// [`write_pcap`] where live capture is not possible.
pub struct Tee<IO> {
    inner: IO,
    recording: Recording,
}

impl<IO> Tee<IO> {
    /// Records what passes through `inner` into `recording`.
    pub fn new(inner: IO, recording: Recording) -> Self {
        Tee { inner, recording }
    }

    fn record(&self, direction: Direction, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.recording
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((direction, bytes.to_vec()));
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Tee<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            let fresh = buf.filled()[before..].to_vec();
            this.record(Direction::Received, &fresh);
        }
        result
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Tee<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            this.record(Direction::Sent, &buf[..n]);
        }
        result
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Largest TCP payload per synthesized packet.
const SEGMENT: usize = 16 * 1024;

/// Writes a classic pcap (raw IPv4) of one TCP connection between
/// 127.0.0.1:`client_port` and 127.0.0.1:`server_port` carrying
/// `recording`: handshake, data segments with consistent sequence numbers,
/// and FINs both ways.
pub fn write_pcap(
    path: &Path,
    client_port: u16,
    server_port: u16,
    recording: &[(Direction, Vec<u8>)],
) -> Result<(), String> {
    let mut out = Vec::new();
    // Global header: magic, version 2.4, zone, sigfigs, snaplen, LINKTYPE_RAW.
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&101u32.to_le_bytes());

    let mut packets = PacketWriter {
        out,
        micros: 0,
        ip_id: 1,
    };
    let (mut client_seq, mut server_seq) = (1_000u32, 5_000u32);
    let c = (client_port, server_port);
    let s = (server_port, client_port);
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const PSH_ACK: u8 = 0x18;
    const FIN_ACK: u8 = 0x11;
    packets.tcp(c, client_seq, 0, SYN, &[]);
    client_seq = client_seq.wrapping_add(1);
    packets.tcp(s, server_seq, client_seq, SYN | ACK, &[]);
    server_seq = server_seq.wrapping_add(1);
    packets.tcp(c, client_seq, server_seq, ACK, &[]);
    for (direction, bytes) in recording {
        for piece in bytes.chunks(SEGMENT) {
            match direction {
                Direction::Sent => {
                    packets.tcp(c, client_seq, server_seq, PSH_ACK, piece);
                    client_seq = client_seq.wrapping_add(piece.len() as u32);
                }
                Direction::Received => {
                    packets.tcp(s, server_seq, client_seq, PSH_ACK, piece);
                    server_seq = server_seq.wrapping_add(piece.len() as u32);
                }
            }
        }
    }
    packets.tcp(c, client_seq, server_seq, FIN_ACK, &[]);
    client_seq = client_seq.wrapping_add(1);
    packets.tcp(s, server_seq, client_seq, FIN_ACK, &[]);
    server_seq = server_seq.wrapping_add(1);
    packets.tcp(c, client_seq, server_seq, ACK, &[]);
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(&packets.out))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

struct PacketWriter {
    out: Vec<u8>,
    micros: u64,
    ip_id: u16,
}

impl PacketWriter {
    fn tcp(&mut self, (from, to): (u16, u16), seq: u32, ack: u32, flags: u8, payload: &[u8]) {
        let total = 20 + 20 + payload.len();
        let mut ip = Vec::with_capacity(total);
        ip.extend_from_slice(&[0x45, 0]);
        ip.extend_from_slice(&(total as u16).to_be_bytes());
        ip.extend_from_slice(&self.ip_id.to_be_bytes());
        ip.extend_from_slice(&[0x40, 0, 64, 6, 0, 0]);
        ip.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
        let checksum = internet_checksum(&ip);
        ip[10..12].copy_from_slice(&checksum.to_be_bytes());
        ip.extend_from_slice(&from.to_be_bytes());
        ip.extend_from_slice(&to.to_be_bytes());
        ip.extend_from_slice(&seq.to_be_bytes());
        ip.extend_from_slice(&ack.to_be_bytes());
        ip.extend_from_slice(&[0x50, flags]);
        ip.extend_from_slice(&65_535u16.to_be_bytes());
        ip.extend_from_slice(&[0, 0, 0, 0]);
        ip.extend_from_slice(payload);
        // TCP checksum over the pseudo header and segment.
        let mut pseudo = vec![127, 0, 0, 1, 127, 0, 0, 1, 0, 6];
        pseudo.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
        pseudo.extend_from_slice(&ip[20..]);
        let checksum = internet_checksum(&pseudo);
        ip[36..38].copy_from_slice(&checksum.to_be_bytes());
        self.ip_id = self.ip_id.wrapping_add(1);
        self.micros += 10;
        self.out
            .extend_from_slice(&((self.micros / 1_000_000) as u32).to_le_bytes());
        self.out
            .extend_from_slice(&((self.micros % 1_000_000) as u32).to_le_bytes());
        self.out.extend_from_slice(&(ip.len() as u32).to_le_bytes());
        self.out.extend_from_slice(&(ip.len() as u32).to_le_bytes());
        self.out.extend_from_slice(&ip);
    }
}

fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_a_known_header() {
        // The IPv4 header example from RFC 1071's discussions.
        let header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&header), 0xb861);
    }
}
