// examples/phi/tokenizer/chat.hpp — prompt formats for --chat.
//
// Phi-3 / Phi-3.5 / Phi-4-mini (the reference engine's "phi3" template):
//   <|system|>\n{system}<|end|>\n          (optional)
//   <|user|>\n{message}<|end|>\n
//   <|assistant|>\n                        (the generation prompt)
// and the reply ends with <|end|>. BOS comes from the tokenizer
// (EncodeOptions::add_special), and the text must be encoded with
// parse_special so the markers become their control tokens.
//
// Phi-2 has no chat tokens; its documented QA format is
//   Instruct: {message}\nOutput:
// and the reply ends with <|endoftext|> (EOS).
//
// Generation stops at any of Vocab::eog_tokens() (EOS, <|end|>,
// <|endoftext|>): see stop_tokens().
#pragma once

#include <string>
#include <vector>

#include "phi/tokenizer/vocab.hpp"

namespace phi {

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

enum class ChatFormat { Phi3, Phi2 };

// Phi-3's markers present in the vocabulary -> Phi3, else the Phi-2 QA format.
inline ChatFormat detect_chat_format(const Vocab& vocab) {
  const bool phi3 = vocab.find("<|user|>") != kNoToken && vocab.find("<|assistant|>") != kNoToken &&
                    vocab.find("<|end|>") != kNoToken;
  return phi3 ? ChatFormat::Phi3 : ChatFormat::Phi2;
}

// One finished turn of the conversation.
inline std::string format_turn(ChatFormat fmt, const ChatMessage& m) {
  if (fmt == ChatFormat::Phi3) return "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
  if (m.role == "user") return "Instruct: " + m.content + "\n";
  if (m.role == "assistant") return "Output: " + m.content + "\n";
  return m.content + "\n";  // a system message is plain preamble text for Phi-2
}

// What makes the model answer next.
inline std::string generation_prompt(ChatFormat fmt) {
  return fmt == ChatFormat::Phi3 ? "<|assistant|>\n" : "Output:";
}

// A whole conversation, optionally ending with the generation prompt.
inline std::string format_chat(ChatFormat fmt, const std::vector<ChatMessage>& messages,
                               bool add_generation_prompt = true) {
  std::string s;
  for (const ChatMessage& m : messages) s += format_turn(fmt, m);
  if (add_generation_prompt) s += generation_prompt(fmt);
  return s;
}

// Interactive chat that keeps the KV cache: the text to feed for the next
// user message. After a reply, the tokens already in the cache end with the
// reply's last content token (the stop token is sampled, not fed), so the
// text first closes that reply the way format_turn() would have.
inline std::string next_user_turn(ChatFormat fmt, const std::string& message, bool after_reply) {
  std::string s;
  if (after_reply) s += fmt == ChatFormat::Phi3 ? "<|end|>\n" : "\n";
  s += format_turn(fmt, {"user", message});
  s += generation_prompt(fmt);
  return s;
}

// Token ids that end a reply.
inline std::vector<Token> stop_tokens(const Vocab& vocab) { return vocab.eog_tokens(); }

}  // namespace phi
