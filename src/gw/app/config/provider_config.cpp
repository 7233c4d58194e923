#include "gw/app/config/provider_config.hpp"

#include <array>

namespace gw::app {
namespace {

constexpr std::array kPresets{
    ProviderPreset{"groq", "https://api.groq.com/openai/v1", "GROQ_BASE_URL", "GROQ_API_KEY"},
    ProviderPreset{"mistral", "https://api.mistral.ai/v1", "MISTRAL_BASE_URL", "MISTRAL_API_KEY"},
    ProviderPreset{"deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_BASE_URL",
                   "DEEPSEEK_API_KEY"},
    ProviderPreset{"together", "https://api.together.xyz/v1", "TOGETHER_BASE_URL",
                   "TOGETHER_API_KEY"},
    ProviderPreset{"openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_BASE_URL",
                   "OPENROUTER_API_KEY"},
    ProviderPreset{"fireworks", "https://api.fireworks.ai/inference/v1", "FIREWORKS_BASE_URL",
                   "FIREWORKS_API_KEY"},
    ProviderPreset{"xai", "https://api.x.ai/v1", "XAI_BASE_URL", "XAI_API_KEY"},
    ProviderPreset{"vllm", "", "VLLM_BASE_URL", "VLLM_API_KEY"},
    ProviderPreset{"llamacpp", "", "LLAMACPP_BASE_URL", "LLAMACPP_API_KEY"},
    ProviderPreset{"lmstudio", "", "LMSTUDIO_BASE_URL", "LMSTUDIO_API_KEY"},
};

}  // namespace

std::span<const ProviderPreset> provider_presets() {
  return kPresets;
}

}  // namespace gw::app
