//! The complete answer a test expects to one question, and the comparison
//! that every transport and client is held to.

use crate::dns::{self, Edns, Question, Reply, NOERROR};
use crate::rdata;

/// One question and the complete answer expected to it.
pub struct Expect {
    pub question: Question,
    rcode: u16,
    aa: bool,
    answer: &'static [&'static str],
    authority: &'static [&'static str],
    additional: &'static [&'static str],
}

pub fn expect(name: &str, qtype: u16) -> Expect {
    Expect {
        question: Question::new(name, qtype),
        rcode: NOERROR,
        aa: true,
        answer: &[],
        authority: &[],
        additional: &[],
    }
}

impl Expect {
    pub fn rcode(mut self, rcode: u16, aa: bool) -> Expect {
        self.rcode = rcode;
        self.aa = aa;
        self
    }
    pub fn answer(mut self, rrs: &'static [&'static str]) -> Expect {
        self.answer = rrs;
        self
    }
    pub fn authority(mut self, rrs: &'static [&'static str]) -> Expect {
        self.authority = rrs;
        self
    }
    pub fn additional(mut self, rrs: &'static [&'static str]) -> Expect {
        self.additional = rrs;
        self
    }
    pub fn edns(mut self, edns: Edns) -> Expect {
        self.question = self.question.edns(edns);
        self
    }
    pub fn class(mut self, class: u16) -> Expect {
        self.question = self.question.class(class);
        self
    }

    /// Compares everything: rcode, AA, TC (never set here), each section as a
    /// set of records with TTLs, and EDNS echoed exactly when asked with it.
    pub fn check(&self, reply: &Reply, via: &str) {
        let what = format!("{} {} via {via}", self.question.name, rdata::type_name(self.question.qtype));
        let reply = reply.clone().normalised();
        let sorted = |rrs: &[&str]| {
            let mut v: Vec<String> = rrs.iter().map(|s| s.to_string()).collect();
            v.sort_by_key(|s| s.to_ascii_lowercase());
            v
        };
        let sort_text = |mut v: Vec<String>| {
            v.sort_by_key(|s| s.to_ascii_lowercase());
            v
        };
        assert_eq!(dns::rcode_name(reply.rcode), dns::rcode_name(self.rcode), "{what}: rcode\n{reply}");
        assert_eq!(reply.aa, self.aa, "{what}: AA\n{reply}");
        assert!(!reply.tc, "{what}: TC\n{reply}");
        assert_eq!(sort_text(reply.answer_text()), sorted(self.answer), "{what}: answer");
        assert_eq!(sort_text(reply.authority_text()), sorted(self.authority), "{what}: authority");
        assert_eq!(sort_text(reply.additional_text()), sorted(self.additional), "{what}: additional");
        let expected_edns = self.question.edns.map(|e| Edns { payload: 1232, dnssec_ok: e.dnssec_ok, version: 0 });
        assert_eq!(reply.edns, expected_edns, "{what}: EDNS");
    }
}
