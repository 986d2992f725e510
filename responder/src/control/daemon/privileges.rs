//! `--user USER[:GROUP]`: once everything privileged is done (XDP program
//! attached, AF_XDP sockets bound, UMEM registered and locked, ports below
//! 1024 bound), become an ordinary user with no capabilities at all.
//!
//! Nothing later needs privilege: the workers only use rings and `sendto`
//! on sockets they hold; the XDP program is detached by closing its link
//! descriptor; map reads and writes go through descriptors already open;
//! a reload only reads zone files (which must be readable by the user).

use std::ffi::CString;

/// Who to become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
}

/// Looks `USER[:GROUP]` up in the user database, before anything starts, so
/// a typo is an error rather than a server that cannot drop privileges.
pub fn resolve(spec: &str) -> Result<Identity, String> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user.is_empty() || group.is_some_and(str::is_empty) {
        return Err(format!("--user {spec:?}: expected USER or USER:GROUP"));
    }
    let (uid, user_gid) = lookup_user(user)?.ok_or_else(|| format!("--user {spec}: no such user {user:?}"))?;
    let gid = match group {
        Some(g) => lookup_group(g)?.ok_or_else(|| format!("--user {spec}: no such group {g:?}"))?,
        None => user_gid,
    };
    Ok(Identity { user: user.to_owned(), uid, gid })
}

/// A server that runs as root for ever because its config forgot `user`
/// is one bug away from owning the host: refuse, unless root was asked for
/// by name (`user = "root"`, or --user root).
pub fn refuse_unintended_root(identity: Option<&Identity>, euid: libc::uid_t) -> Result<(), String> {
    if euid == 0 && identity.is_none() {
        return Err("started as root with no `user` to become after start-up: set `user = \"responder\"` \
                    in [server] (or --user responder) to drop to an unprivileged user once XDP is attached, \
                    or `user = \"root\"` (--user root) to keep running as root on purpose"
            .into());
    }
    Ok(())
}

pub fn effective_uid() -> libc::uid_t {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// How the ready line names who serves.
pub fn describe(id: &Identity) -> String {
    if id.uid == 0 {
        format!("{} (uid 0, kept on purpose: `user = \"root\"`)", id.user)
    } else {
        format!("{} (uid {}, no capabilities)", id.user, id.uid)
    }
}

/// Becomes `id` in every thread (glibc applies set*id to all threads) and
/// checks that no capability is left.
pub fn drop_to(id: &Identity) -> Result<(), String> {
    let fail =
        |what: &str| format!("cannot drop privileges to {}: {what}: {}", id.user, std::io::Error::last_os_error());
    // SAFETY: plain system calls on integers and a one-element array that
    // outlives the call.
    unsafe {
        if libc::setgroups(1, &id.gid) != 0 {
            return Err(fail("setgroups"));
        }
        if libc::setresgid(id.gid, id.gid, id.gid) != 0 {
            return Err(fail("setresgid"));
        }
        if libc::setresuid(id.uid, id.uid, id.uid) != 0 {
            return Err(fail("setresuid"));
        }
        // No exec'd program can regain privilege either.
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(fail("PR_SET_NO_NEW_PRIVS"));
        }
    }
    let left = capabilities_left().map_err(|e| format!("cannot read capabilities after dropping privileges: {e}"))?;
    if left != 0 {
        return Err(format!("capabilities {left:#x} remain after becoming {}", id.user));
    }
    Ok(())
}

/// CapPrm | CapEff | CapAmb of this process.
fn capabilities_left() -> std::io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let mut left = 0;
    for line in status.lines() {
        for key in ["CapPrm:", "CapEff:", "CapAmb:"] {
            if let Some(hex) = line.strip_prefix(key) {
                left |= u64::from_str_radix(hex.trim(), 16).map_err(std::io::Error::other)?;
            }
        }
    }
    Ok(left)
}

/// Room for the strings a passwd or group entry points into.
const ENTRY_BUF: usize = 16 * 1024;

fn lookup_user(name: &str) -> Result<Option<(libc::uid_t, libc::gid_t)>, String> {
    let cname = CString::new(name).map_err(|_| format!("--user: bad user name {name:?}"))?;
    let mut buf = vec![0u8; ENTRY_BUF];
    // SAFETY: passwd is plain data; getpwnam_r writes into `pwd` and `buf`
    // (whose length it is given) and sets `result` to null or to `&pwd`.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwnam_r(cname.as_ptr(), &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result);
        if rc != 0 {
            return Err(format!("--user: looking up {name:?}: {}", std::io::Error::from_raw_os_error(rc)));
        }
        Ok((!result.is_null()).then_some((pwd.pw_uid, pwd.pw_gid)))
    }
}

fn lookup_group(name: &str) -> Result<Option<libc::gid_t>, String> {
    let cname = CString::new(name).map_err(|_| format!("--user: bad group name {name:?}"))?;
    let mut buf = vec![0u8; ENTRY_BUF];
    // SAFETY: as in lookup_user, for group entries.
    unsafe {
        let mut grp: libc::group = std::mem::zeroed();
        let mut result: *mut libc::group = std::ptr::null_mut();
        let rc = libc::getgrnam_r(cname.as_ptr(), &mut grp, buf.as_mut_ptr().cast(), buf.len(), &mut result);
        if rc != 0 {
            return Err(format!("--user: looking up group {name:?}: {}", std::io::Error::from_raw_os_error(rc)));
        }
        Ok((!result.is_null()).then_some(grp.gr_gid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_are_looked_up() {
        let root = resolve("root").expect("root exists everywhere");
        assert_eq!((root.uid, root.gid), (0, 0));
        let nobody = resolve("nobody:root").expect("nobody exists on Debian");
        assert_ne!(nobody.uid, 0);
        assert_eq!(nobody.gid, 0);
    }

    #[test]
    fn root_is_kept_only_when_named() {
        let error = refuse_unintended_root(None, 0).unwrap_err();
        assert!(error.contains("user = \"responder\"") && error.contains("user = \"root\""), "{error}");
        let root = resolve("root").unwrap();
        assert_eq!(refuse_unintended_root(Some(&root), 0), Ok(()));
        assert!(describe(&root).contains("kept on purpose"));
        assert_eq!(refuse_unintended_root(None, 1000), Ok(()), "not root: nothing to drop");
        let nobody = resolve("nobody").unwrap();
        assert_eq!(refuse_unintended_root(Some(&nobody), 0), Ok(()));
        assert!(describe(&nobody).ends_with("no capabilities)"));
    }

    #[test]
    fn bad_specs_are_rejected_with_the_reason() {
        for (spec, expect) in [
            ("", "expected USER"),
            ("root:", "expected USER"),
            (":root", "expected USER"),
            ("no-such-user-rsp", "no such user"),
            ("root:no-such-group-rsp", "no such group"),
            ("a\0b", "bad user name"),
        ] {
            let error = resolve(spec).unwrap_err();
            assert!(error.contains(expect), "{spec:?}: {error}");
        }
    }
}
