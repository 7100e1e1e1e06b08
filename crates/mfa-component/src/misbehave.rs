//! Test-only misbehaviour (feature `misbehave`, never in the shipped
//! component): lets the host's tests prove that a runaway guest is stopped.

/// `otp.totp-code` with one of these secrets misbehaves instead of answering.
pub(crate) fn maybe(secret: &[u8]) {
    match secret {
        b"misbehave:spin" => spin(),
        b"misbehave:grow" => grow(),
        _ => {}
    }
}

/// An endless loop: only the host's deadline ends it.
fn spin() {
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

/// Allocate and touch memory until the host refuses to grow it.
fn grow() {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        chunk[0] = 1;
        hoard.push(std::hint::black_box(chunk));
    }
}
